// The benchmarks' shared harness: child processes, a kextsim host, a
// kextconfd whose stderr is read as it is written (to time its "applied"
// line), latency samples and the result table.
//
// Every figure the benchmarks report is a ratio against a baseline measured
// in the same run, or an instruction count; absolute times are printed for
// context only. Threading: one thread per object.
#pragma once

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

// Where the build put things (compiled in by bench/CMakeLists.txt).
std::string bin_dir();  // kextsim, kextconfd, kextconfctl
std::string kext_dir(); // <build>/kexts

// A directory from mkdtemp, removed with its contents on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "/tmp/kcb.");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

void write_file(const std::string& path, const std::string& text);
// Writes path.tmp and renames it over path (an editor's save).
void rename_save(const std::string& path, const std::string& text);

// A child process. stdout goes to /dev/null unless captured; stderr is a
// pipe the caller can read line by line (wait_for_line).
class Child {
public:
    struct Options {
        std::vector<std::pair<std::string, std::string>> env;
        bool capture_stdout = false;
        bool quiet_stderr = false; // stderr to /dev/null instead of the pipe
        std::string netns;         // a /proc/<pid>/ns/net to enter before exec
        std::string err_file;      // stderr to this file instead of the pipe
    };
    Child(std::vector<std::string> argv, Options opts);
    ~Child(); // SIGKILL and reap if still running
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    // Reads stderr until a line containing `text` arrives (true) or the
    // timeout passes / the child closes stderr (false). Lines read are kept.
    bool wait_for_line(const std::string& text, double timeout_s);
    const std::string& err_text() const { return err_; }
    // SIGTERM (or sig) and wait; the exit status, or -1 after a SIGKILL.
    int stop(int sig, double timeout_s);
    // Waits for exit; exit status (128+signal if killed), -1 on timeout.
    int wait(double timeout_s);

private:
    pid_t pid_ = -1;
    int err_fd_ = -1;
    std::string err_;
    std::size_t scanned_ = 0;
    bool reaped_ = false;
    int status_ = 0;
};

// Runs a program to completion; exit status (-1 on timeout or failure).
int run(const std::vector<std::string>& argv, double timeout_s = 30, std::string* out = nullptr);

// `kextsim boot --load <bundle>` in a fresh KEXTSIM_ROOT, ready once
// `control` can be looked up (CTLIOCGINFO) through the client library.
class Kextsim {
public:
    Kextsim(const std::vector<std::string>& bundles, const std::string& control);
    ~Kextsim();
    const std::string& root() const { return dir_.path(); }
    bool ready() const { return ready_; }
    pid_t pid() const { return host_->pid(); }
    // Sets KEXTSIM_ROOT for this process (clients made in it reach this host).
    void use() const;

private:
    TempDir dir_;
    std::unique_ptr<Child> host_;
    bool ready_ = false;
};

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
