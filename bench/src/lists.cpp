// 3. Bulk lists: a 100,000-entry list from file to verified apply, against
// `nft -f` loading a set of 100,000 elements in a private network
// namespace (the baseline; a fresh table each run).
#include "benches.hpp"
#include "netns.hpp"

#include <sstream>
#include <stdexcept>

namespace kcbench {

namespace {

constexpr int kEntries = 100000;

// A ruleset file: one table with one set of `n` ipv4 addresses, replacing
// any earlier one (the "destroy"-free idiom: add, delete, add).
std::string nft_file(int n)
{
    std::ostringstream out;
    out << "add table inet kcbench\ndelete table inet kcbench\n"
           "table inet kcbench {\n  set s {\n    type ipv4_addr\n    elements = {\n";
    for (int i = 0; i < n; ++i)
        out << "      10." << ((i >> 16) & 255) << "." << ((i >> 8) & 255) << "." << (i & 255)
            << (i + 1 < n ? ",\n" : "\n");
    out << "    }\n  }\n}\n";
    return out.str();
}

} // namespace

double nft_load(const NetNamespace& ns, const std::string& file)
{
    const auto t0 = Clock::now();
    Child c({"/usr/sbin/nft", "-f", file}, {{}, false, false, ns.path()});
    const int st = c.wait(120);
    const double s = seconds_since(t0);
    if (st != 0) {
        c.wait_for_line("\x01", 0.1);
        throw std::runtime_error("nft -f " + file + " failed: " + c.err_text());
    }
    return s;
}

void bench_lists(Table& t, const Options& o)
{
    NetNamespace ns;
    TempDir dir;
    const int n = o.smoke ? 1000 : kEntries;
    write_file(dir.file("set.nft"), nft_file(n));
    const int runs = o.smoke ? 1 : o.quick ? 3 : 10;
    Samples nft;
    nft_load(ns, dir.file("set.nft")); // warm-up
    for (int i = 0; i < runs; ++i)
        nft.add(nft_load(ns, dir.file("set.nft")));
    t.add({"3", std::to_string(n) + "-entry list, file to verified apply (median)", "not in this build (lists)",
           fmt_time(nft.median()) + " nft -f, " + std::to_string(n) + "-element set", 0, "", true});
}

} // namespace kcbench
