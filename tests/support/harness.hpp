// The harness shared by the tests and the benchmarks: child processes with
// captured output and bounded waits, temporary directories, whole files, and
// a `kextsim boot` host. No gtest: the benchmarks link it too. Tests add
// their gtest-facing layer from process.hpp (failures become gtest failures,
// a host's readiness an AssertionResult).
//
// Every child is killed (SIGKILL) and reaped when its Process object goes
// away, so a failing test leaks nothing; on Linux children also die with the
// parent (PR_SET_PDEATHSIG) should it crash.
//
// Waits are bounded only to catch a hang; a child's output is watched as it
// is written (inotify on Linux), so nothing waits longer than the child.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace kctest {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// Extra environment for a child (added to, or overriding, the parent's own).
using Env = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kReferenceBundleId = "org.kextconf.reference";
inline constexpr const char* kReferenceQueryControl = "org.kextconf.reference.query";

// Where the build put things (compiled in by tests/support/CMakeLists.txt);
// the environment may override them to test an installed tree.
std::string bin_path(const std::string& program); // $KEXTCONF_BIN_DIR/program
std::string kext_dir();                           // $KEXTCONF_KEXT_DIR: every built bundle
std::string kext_bundle();                        // $KEXTCONF_KEXT_BUNDLE: the reference kext
std::string source_dir();                         // $KEXTCONF_SOURCE_DIR

// What the harness could not do (mkdtemp, fork, a file write...). Reported
// through the reporter: stderr unless a test layer installs gtest's.
using FailureReporter = void (*)(const std::string& what);
void set_failure_reporter(FailureReporter reporter);
void report_failure(const std::string& what);

// Calls pred every `interval` until it returns true (-> true) or `timeout`
// has passed (-> false; pred gets one last call at the deadline).
bool wait_until(const std::function<bool()>& pred, Millis timeout, Millis interval = 10ms);

// A directory made with mkdtemp (mode 0755 so that a child running as nobody
// can reach sockets inside it), removed with its contents on destruction.
// Keep the prefix short: AF_UNIX paths are limited to 108 bytes.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "/tmp/kct.");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// Sets an environment variable for its scope (for children started in it,
// and for clients in this process that read it, such as KEXTSIM_ROOT) and
// puts back the old value (or unsets it) on destruction. Not thread-safe.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

// This process's ASAN_OPTIONS plus detect_leaks=0: for a host that keeps
// blocks leaked until it exits, where LeakSanitizer (asan builds) would
// report them a second time and fail the exit status.
std::string asan_without_leak_check();

// Whole-file helpers; failures are reported.
void write_file(const std::string& path, const std::string& text);
// Writes a sibling temp file and renames it over `path` (an editor's save).
void replace_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

// How many times `what` occurs in `text`, without overlaps (log lines, output).
std::size_t count_of(const std::string& text, const std::string& what);

// What a finished child left behind.
struct Result {
    int exit_code = -1;  // exit status, -1 if it did not exit normally
    int term_signal = 0; // signal that ended it, 0 if none
    bool timed_out = false;
    std::string out;
    std::string err;

    // "exit 3" / "signal 9 (timed out)" plus both streams, for messages.
    std::string describe() const;
};

struct SpawnOptions {
    SpawnOptions(Env env_ = {}, bool as_nobody_ = false, std::string netns_ = {})
        : env(std::move(env_)), as_nobody(as_nobody_), netns(std::move(netns_))
    {
    }
    Env env;
    bool as_nobody;    // setgroups(0), setgid(65534), setuid(65534) before exec
    std::string netns; // Linux: a /proc/<pid>/ns/net to enter before exec
};

// A running child process. argv[0] is the program path (no PATH search).
// stdin is /dev/null; stdout and stderr go to unlinked temp files that can be
// read at any time while it runs (a pipe nobody reads would stall a chatty
// child).
class Process {
public:
    explicit Process(std::vector<std::string> argv, SpawnOptions opts = {});
    ~Process(); // SIGKILL and reap if still running
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    bool started() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    // True while the child has not exited (reaps it when it has).
    bool running();
    // kill(pid, sig); false if the child is gone already.
    bool signal(int sig);
    // Waits up to `timeout` for the child to exit. On timeout it is killed
    // with SIGKILL, reaped, marked timed out, and false is returned.
    bool wait(Millis timeout);
    // SIGTERM and wait: the exit code, -1 if it did not exit normally
    // within `timeout` (then it was killed).
    int terminate(Millis timeout);
    // SIGKILL and reap (no-op once reaped).
    void kill();

    bool exited() const { return reaped_; }
    int exit_code() const; // -1 unless it exited normally
    int term_signal() const;
    bool timed_out() const { return timed_out_; }
    std::string out() const;
    std::string err() const;
    // Waits until stderr contains `text` anywhere (false on timeout or if
    // the child exits first without having written it).
    bool wait_for_err(const std::string& text, Millis timeout);
    // Waits until pred(stderr so far) holds, checked each time it grows.
    bool wait_for_err(const std::function<bool(const std::string&)>& pred, Millis timeout);
    // Waits for the next complete stderr line containing `text`, after the
    // lines an earlier call consumed: for a child that logs the same event
    // again (each reload's "applied" line). Returns as soon as it is written.
    bool next_err_line(const std::string& text, Millis timeout);
    Result result() const;
    std::string describe() const { return result().describe(); }

private:
    // Blocks until stderr grows, the child exits or `until` passes.
    void await_err_growth(std::size_t seen, std::chrono::steady_clock::time_point until);

    std::string name_;
    pid_t pid_ = -1;
    int status_ = 0;
    bool reaped_ = false;
    bool timed_out_ = false;
    int out_fd_ = -1;
    int err_fd_ = -1;
    int err_watch_ = -1;       // inotify on stderr's file (Linux), else -1
    std::size_t consumed_ = 0; // stderr bytes next_err_line has scanned
};

// Runs a command to completion (killed with SIGKILL after `timeout`).
Result run(std::vector<std::string> argv, SpawnOptions opts = {}, Millis timeout = 5000ms);

// Runs fn in a forked child (no exec), optionally as nobody, and returns its
// outcome: exit_code is fn's return value; what fn prints is captured. fn
// must not use gtest assertions (report through the return value and
// stderr). The calling process must be single-threaded.
Result run_in_child(const std::function<int()>& fn, bool as_nobody, Millis timeout = 5000ms);

// A kext for a host to load: its bundle path and bundle id.
struct KextToLoad {
    std::string bundle;
    std::string bundle_id;
};

// `kextsim boot` in a fresh, short KEXTSIM_ROOT under /tmp, loading `kexts`
// in order (boot_args follow, e.g. --fail SITE:N). Ready once it has said
// "loaded" for every kext (or "booted" for none), read from its stderr as it
// is written; a failed load or a dead host ends the wait at once.
//
// stop() (or destruction) sends SIGTERM and expects exit status 0 within a
// hang bound (a leak or a refused stop at shutdown makes kextsim exit 1),
// then the directory goes. Declare it before any Process or socket that
// talks to it, so those go away first.
class KextsimBoot {
public:
    explicit KextsimBoot(std::vector<KextToLoad> kexts, const std::vector<std::string>& boot_args = {});
    ~KextsimBoot();
    KextsimBoot(const KextsimBoot&) = delete;
    KextsimBoot& operator=(const KextsimBoot&) = delete;

    // "" when ready; otherwise why not, with what the host printed.
    const std::string& not_ready() const { return not_ready_; }
    const std::string& root() const { return dir_.path(); }
    const TempDir& dir() const { return dir_; }
    // KEXTSIM_ROOT, and KEXTCONFD_SOCKET inside the host's directory, so a
    // kextconfd and a kextconfctl started with it find each other and never
    // another's daemon.
    Env env() const { return {{"KEXTSIM_ROOT", root()}, {"KEXTCONFD_SOCKET", admin_socket()}}; }
    std::string admin_socket() const { return dir_.file("kextconfd.sock"); }
    Process& process() { return *proc_; }

    // `kextsim ARGS...` / `kextconfctl ARGS...` against this host.
    Result kextsim(const std::vector<std::string>& args, Millis timeout = 5000ms) const;
    Result ctl(const std::vector<std::string>& args, bool as_nobody = false, Millis timeout = 5000ms) const;
    // `kextsim showloaded` lists bundle_id.
    bool is_loaded(const std::string& bundle_id = kReferenceBundleId) const;
    // Waits until no client is connected to any control (every control in
    // `kextsim stats` shows units=0): clients disconnect asynchronously in
    // the host after a process exits or a socket is closed.
    bool wait_no_clients(Millis timeout = 5000ms) const;

    // SIGTERM; "" if it exited 0, else what went wrong. Idempotent ("" after
    // the first call).
    std::string stop();

private:
    // Resolved before the directory exists, so a missing environment
    // variable leaves nothing behind.
    std::string kextsim_bin_;
    TempDir dir_;
    std::unique_ptr<Process> proc_;
    std::string not_ready_;
    bool stopped_ = false;
};

} // namespace kctest
