// The benchmarks' figures: latency samples, the result table and /proc
// figures. Processes and hosts come from the tests' harness.
//
// Every figure the benchmarks report is a ratio against a baseline measured
// in the same run, or an instruction count; absolute times are printed for
// context only. Threading: one thread per object.
#pragma once

#include "harness.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace kcbench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Processes, temporary directories and kextsim hosts come from the harness
// the tests use (tests/support/harness.hpp).
using namespace std::chrono_literals;
using kctest::bin_path;
using kctest::kext_dir;
using kctest::KextsimBoot;
using kctest::kReferenceBundleId;
using kctest::Millis;
using kctest::Process;
using kctest::replace_file;
using kctest::run;
using kctest::ScopedEnv;
using kctest::SpawnOptions;
using kctest::TempDir;
using kctest::write_file;

// A kextsim host for a benchmark: the bundles under kext_dir() by name
// ("BenchKext16") with their bundle ids.
std::unique_ptr<KextsimBoot> boot_kexts(const std::vector<std::pair<std::string, std::string>>& name_and_id);

// Latency samples in nanoseconds.
class Samples {
public:
    void add(double ns) { v_.push_back(ns); }
    void reserve(std::size_t n) { v_.reserve(n); }
    void merge(const Samples& o)
    {
        v_.insert(v_.end(), o.v_.begin(), o.v_.end());
        sorted_ = false;
    }
    std::size_t size() const { return v_.size(); }
    double percentile(double p); // p in [0,100]
    double mean() const;
    double median() { return percentile(50); }

private:
    std::vector<double> v_;
    bool sorted_ = false;
};

// One line of the result table.
struct Row {
    std::string bench;    // "1 control round trip"
    std::string metric;   // "p50"
    std::string subject;  // "12.3 us"
    std::string baseline; // "10.1 us (raw SEQPACKET)"
    double ratio = 0;     // subject / baseline (0: no ratio)
    std::string target;   // "<= 1.3"
    bool met = true;      // target met (or no target)
    bool budget = false;  // an instruction budget: fails even a --smoke run
};

class Table {
public:
    void add(Row r) { rows_.push_back(std::move(r)); }
    // Prints the table (markdown) to stdout; false if any target was missed.
    bool print() const;
    bool all_met() const;
    bool budgets_met() const;

private:
    std::vector<Row> rows_;
};

std::string fmt_time(double seconds); // "12.3 us", "4.56 ms", "1.23 s"
std::string fmt_num(double v, int digits = 3);

// /proc/<pid> figures.
struct ProcStats {
    long rss_kb = 0;
    long voluntary_switches = 0;
    long involuntary_switches = 0;
    double cpu_s = 0; // utime + stime
    bool ok = false;
};
ProcStats proc_stats(pid_t pid);
// Sum over the threads of the process (/proc/<pid>/task/*/status).
ProcStats proc_stats_all_threads(pid_t pid);

} // namespace kcbench
