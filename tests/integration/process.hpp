// Helpers for integration tests that drive the real processes (kextsim boot,
// kextconfd, kextconfctl) over real sockets: child processes with captured
// output and bounded waits, temporary directories, and a kextsim host fixture.
//
// Every child is killed (SIGKILL) and reaped when its Process object goes
// away, so a failing test leaks nothing; on Linux children also die with the
// test binary (PR_SET_PDEATHSIG) should it crash.
//
// Tests may poll with short sleeps, always bounded by a timeout (wait_until);
// the product may not.
#pragma once

#include <gtest/gtest.h>

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

// Extra environment for a child (added to, or overriding, the test's own).
using Env = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kReferenceBundleId = "org.kextconf.reference";
inline constexpr const char* kReferenceQueryControl = "org.kextconf.reference.query";

std::string bin_path(const std::string& program); // $KEXTCONF_BIN_DIR/program
std::string kext_bundle();                        // $KEXTCONF_KEXT_BUNDLE
std::string source_dir();                         // $KEXTCONF_SOURCE_DIR

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

// Sets an environment variable for the children started in its scope and
// puts back the old value (or unsets it) on destruction. Not thread-safe:
// setenv while another thread starts a child races with it.
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

// The test's ASAN_OPTIONS plus detect_leaks=0: for a host that keeps blocks
// leaked until it exits, where LeakSanitizer (asan builds) would report them
// a second time and fail the exit status.
std::string asan_without_leak_check();

// Whole-file helpers; failures are reported as gtest failures.
void write_file(const std::string& path, const std::string& text);
// Writes a sibling temp file and renames it over `path` (an editor's save).
void replace_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

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
    Env env;
    bool as_nobody = false; // setgroups(0), setgid(65534), setuid(65534) before exec
};

// A running child process. argv[0] is the program path (no PATH search).
// stdin is /dev/null; stdout and stderr go to unlinked temp files that can be
// read at any time while it runs.
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
    // SIGKILL and reap (no-op once reaped).
    void kill();

    bool exited() const { return reaped_; }
    int exit_code() const; // -1 unless it exited normally
    int term_signal() const;
    bool timed_out() const { return timed_out_; }
    std::string out() const;
    std::string err() const;
    // Waits until stderr contains `text` (false on timeout or if the child
    // exits first without having written it).
    bool wait_for_err(const std::string& text, Millis timeout);
    Result result() const;
    std::string describe() const { return result().describe(); }

private:
    std::string name_;
    pid_t pid_ = -1;
    int status_ = 0;
    bool reaped_ = false;
    bool timed_out_ = false;
    int out_fd_ = -1;
    int err_fd_ = -1;
};

// Runs a command to completion (killed with SIGKILL after `timeout`).
Result run(std::vector<std::string> argv, SpawnOptions opts = {}, Millis timeout = 5000ms);

// Runs fn in a forked child (no exec), optionally as nobody, and returns its
// outcome: exit_code is fn's return value; what fn prints is captured. fn
// must not use gtest assertions (report through the return value and
// stderr). The test process must be single-threaded when this is called.
Result run_in_child(const std::function<int()>& fn, bool as_nobody, Millis timeout = 5000ms);

// A `kextsim boot` host in a fresh, short KEXTSIM_ROOT under /tmp. With
// load_reference it boots with --load $KEXTCONF_KEXT_BUNDLE and waits until
// `kextsim showloaded` lists org.kextconf.reference; otherwise it waits until
// the host answers. Check ready() before using it.
//
// On destruction (or stop()) it sends SIGTERM and expects exit status 0
// within 10 s (a leak or a refused stop at shutdown makes kextsim exit 1),
// then removes the directory. Declare it before any Process or socket that
// talks to it, so those go away first.
class KextsimHost {
public:
    explicit KextsimHost(bool load_reference = true);
    // Boots with --load `bundle` [boot_args...] (e.g. --fail SITE:N) and
    // waits until showloaded lists `bundle_id`.
    KextsimHost(const std::string& bundle, const std::string& bundle_id,
                const std::vector<std::string>& boot_args = {});
    ~KextsimHost();
    KextsimHost(const KextsimHost&) = delete;
    KextsimHost& operator=(const KextsimHost&) = delete;

    ::testing::AssertionResult ready() const;
    const std::string& root() const { return dir_.path(); }
    const TempDir& dir() const { return dir_; }
    // KEXTSIM_ROOT, and KEXTCONFD_SOCKET inside the host's directory, so a
    // kextconfd and a kextconfctl started with it find each other and never
    // another test's daemon.
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

    // SIGTERM; records a failure unless it exits 0 within 10 s. Idempotent.
    void stop();

private:
    // Resolved before the directory exists, so a missing environment
    // variable leaves nothing behind.
    std::string kextsim_bin_;
    std::string bundle_;
    TempDir dir_;
    std::unique_ptr<Process> proc_;
    std::string not_ready_;
    bool stopped_ = false;
};

// A `kextsim boot --load BUNDLE` that a test expects to die (a kext's misuse
// that XNU answers with a panic ends kextsim with SIGABRT). Not a
// KextsimHost, which counts anything but a clean exit as a failure: nothing
// is checked on the way out. Runs under `ulimit -c 0` so the expected abort
// leaves no core file. Check ready() before using it; a host still running
// when this goes away is killed with SIGKILL.
class DyingHost {
public:
    DyingHost(const std::string& bundle, const std::string& bundle_id);
    DyingHost(const DyingHost&) = delete;
    DyingHost& operator=(const DyingHost&) = delete;

    const std::string& root() const { return dir_.path(); }
    // Success once showloaded lists the bundle id (within 5 s) and the host
    // is still running; a failure naming what it left otherwise.
    ::testing::AssertionResult ready();
    // Waits up to 10 s for the host to end (then kills it); what it left.
    Result end();

private:
    std::string bundle_id_;
    TempDir dir_;
    std::unique_ptr<Process> proc_;
};

// The "kextsim: panic: ..." line of a dead host's stderr ("" if none).
std::string panic_line(const Result& r);

// `text` contains `n` as a whole number (not part of a longer one).
bool mentions_number(const std::string& text, std::size_t n);

} // namespace kctest
