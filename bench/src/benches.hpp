// The process-level benchmarks, one function each (bench/src/*.cpp). Each
// adds its rows to the table; figures are ratios against a baseline
// measured in the same run, interleaved with the subject.
#pragma once

#include "figures.hpp"

namespace kcbench {

struct Options {
    bool quick = false;          // fewer rounds: minutes become seconds
    bool smoke = false;          // the ctest: every harness runs, a few iterations each
    double idle_seconds = 60;    // footprint: idle window
    bool update_budgets = false; // cost: write the measured counts to budgets.json
};

// The reference kext's config with blocked_ports = n ports (shifted by
// `shift` so two files differ in every entry).
std::string list_config(int n, int shift);

// One kextconfd start on `host` to its verified apply of `config` (its
// "applied" line, within `apply_timeout`); seconds.
double daemon_start_to_apply(const KextsimBoot& host, const std::string& config, const std::string& state_dir,
                             Millis apply_timeout = 30s);

void bench_roundtrip(Table& t, const Options& o); // 1
void bench_apply(Table& t, const Options& o);     // 2 and 4
void bench_lists(Table& t, const Options& o);     // 3
void bench_readers(Table& t, const Options& o);   // 5
void bench_events(Table& t, const Options& o);    // 6
void bench_cost(Table& t, const Options& o);      // 7
void bench_footprint(Table& t, const Options& o); // 8
void bench_ctl_get(Table& t, const Options& o);   // 9

} // namespace kcbench
