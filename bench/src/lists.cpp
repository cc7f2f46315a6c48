// 3. Bulk lists: a 100,000-entry list from file to verified apply: kextconfd
// started on a file setting the reference kext's blocked_ports to 100,000
// ports, timed to its "applied" line (after it read the kext's state back),
// against `nft -f` loading a set of 100,000 ipv4 elements in a private
// network namespace (a fresh table each run). Both are a fork+exec reading
// a file; runs interleave, and the daemon's files alternate so every run
// replaces the whole list.
#include "benches.hpp"
#include "netns.hpp"

#include <csignal>
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

std::string list_config(int n, int shift)
{
    std::ostringstream out;
    // No heartbeat: the footprint benchmark's idle window counts wakeups.
    out << "{ \"kext\": \"org.kextconf.reference\", \"tunables\": { \"heartbeat_interval_ms\": 0, "
           "\"blocked_ports\": [";
    for (int i = 0; i < n; ++i)
        out << (i ? "," : "") << 1 + (i + shift) % 65535;
    out << "] } }\n";
    return out.str();
}

static double nft_load(const NetNamespace& ns, const std::string& file)
{
    const auto t0 = Clock::now();
    Process c({"/usr/sbin/nft", "-f", file}, SpawnOptions{{}, false, ns.path()});
    c.wait(120s);
    const double s = seconds_since(t0);
    if (c.exit_code() != 0)
        throw std::runtime_error("nft -f " + file + " failed: " + c.describe());
    return s;
}

void bench_lists(Table& t, const Options& o)
{
    NetNamespace ns;
    const auto host = boot_kexts({{"KextconfReference", kReferenceBundleId}});
    TempDir dir;
    const int n = o.smoke ? 1000 : kEntries;
    write_file(dir.file("set.nft"), nft_file(n));
    const std::string cfg[2] = {dir.file("a.json"), dir.file("b.json")};
    write_file(cfg[0], list_config(n, 0));
    write_file(cfg[1], list_config(n, 1));
    auto daemon = [&](const std::string& config) { return daemon_start_to_apply(*host, config, dir.path(), 120s); };
    const int runs = o.smoke ? 1 : o.quick ? 3 : 10;
    Samples nft, kc;
    nft_load(ns, dir.file("set.nft")); // warm-up
    daemon(cfg[1]);
    for (int i = 0; i < runs; ++i) {
        kc.add(daemon(cfg[i % 2]));
        nft.add(nft_load(ns, dir.file("set.nft")));
    }
    const double k = kc.median(), b = nft.median();
    t.add({"3", std::to_string(n) + "-entry list, start to verified apply (median)", fmt_time(k),
           fmt_time(b) + " nft -f, " + std::to_string(n) + "-element set", k / b, "", true});
}

} // namespace kcbench
