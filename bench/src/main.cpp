// kcbench: kextconf's benchmarks against baselines measured in the same run
// (docs/performance.md). Run through bench/run.sh, which builds it and
// installs the baselines' tools (nftables, procps, valgrind).
//
//   kcbench [--quick | --smoke] [--only N[,N...]] [--idle-seconds S]
//
// Prints one markdown table; exit status 1 if a target was missed (or a
// budget in bench/budgets.json exceeded by more than 10%), 2 on a usage
// error, 3 if a benchmark could not run.
#include "benches.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>
#include <sstream>
#include <string>

namespace {

void usage(FILE* f)
{
    std::fprintf(f, "usage: kcbench [--quick | --smoke] [--only N[,N...]] [--idle-seconds S] [--update-budgets]\n"
                    "  --quick           fewer rounds (about a minute in all)\n"
                    "  --smoke           every harness for a few iterations (the ctest)\n"
                    "  --only N,...      run only these benchmarks (1-9, numbered as in docs/performance.md)\n"
                    "  --idle-seconds S  idle window of the footprint benchmark (default 60; --quick 10)\n"
                    "  --update-budgets  write the instruction counts measured (benchmark 7) to bench/budgets.json\n"
                    "Exit (--smoke: instruction budgets only): 0 all targets met, 1 a target or budget missed, 2 "
                    "usage, 3 a benchmark failed to run.\n");
}

} // namespace

int main(int argc, char** argv)
{
    kcbench::Options o;
    std::set<int> only;
    bool idle_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick")
            o.quick = true;
        else if (a == "--smoke")
            o.smoke = o.quick = true;
        else if (a == "--only" && i + 1 < argc) {
            std::stringstream ss(argv[++i]);
            std::string n;
            while (std::getline(ss, n, ','))
                only.insert(std::atoi(n.c_str()));
        } else if (a == "--idle-seconds" && i + 1 < argc) {
            o.idle_seconds = std::atof(argv[++i]);
            idle_given = true;
        } else if (a == "--update-budgets") {
            o.update_budgets = true;
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "kcbench: unknown argument '%s'\n", a.c_str());
            usage(stderr);
            return 2;
        }
    }
    if (!idle_given)
        o.idle_seconds = o.smoke ? 1 : o.quick ? 10 : 60;

    using Fn = void (*)(kcbench::Table&, const kcbench::Options&);
    const std::pair<int, Fn> benches[] = {
        {1, kcbench::bench_roundtrip}, {2, kcbench::bench_apply},   {3, kcbench::bench_lists},
        {5, kcbench::bench_readers},   {6, kcbench::bench_events},  {7, kcbench::bench_cost},
        {8, kcbench::bench_footprint}, {9, kcbench::bench_ctl_get},
    };
    kcbench::Table table;
    int failed = 0;
    for (const auto& [n, fn] : benches) {
        if (!only.empty() && !only.count(n) && !(n == 2 && only.count(4)))
            continue;
        try {
            fn(table, o);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "kcbench: benchmark %d failed to run: %s\n", n, e.what());
            ++failed;
        }
    }
    const bool met = table.print();
    if (failed)
        return 3;
    // A smoke run is too short for timing targets; instruction budgets hold.
    if (o.smoke)
        return table.budgets_met() ? 0 : 1;
    return met ? 0 : 1;
}
