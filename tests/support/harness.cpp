#include "harness.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#endif

extern char** environ;

namespace kctest {

namespace {

constexpr uid_t kNobodyUid = 65534;
constexpr gid_t kNobodyGid = 65534;

void print_failure(const std::string& what)
{
    std::fprintf(stderr, "harness: %s\n", what.c_str());
}

FailureReporter g_reporter = print_failure;

// An unlinked temp file for a child's output stream.
int capture_file()
{
    char tmpl[] = "/tmp/kct-out.XXXXXX";
    const int fd = ::mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0) {
        report_failure(std::string("mkostemp: ") + std::strerror(errno));
        return -1;
    }
    ::unlink(tmpl);
    return fd;
}

std::string read_fd(int fd)
{
    std::string text;
    if (fd < 0)
        return text;
    char buf[16384];
    off_t off = 0;
    for (;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        text.append(buf, static_cast<std::size_t>(n));
        off += n;
    }
    return text;
}

// argv[0]..argv[n] and the environment with overrides, built before fork so
// the child only calls async-signal-safe functions.
struct ExecImage {
    std::vector<std::string> args;
    std::vector<std::string> envs;
    std::vector<char*> argv;
    std::vector<char*> envp;

    ExecImage(std::vector<std::string> a, const Env& extra) : args(std::move(a))
    {
        for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
            const std::string kv = *e;
            const std::string key = kv.substr(0, kv.find('='));
            bool overridden = false;
            for (const auto& [k, v] : extra)
                overridden = overridden || k == key;
            if (!overridden)
                envs.push_back(kv);
        }
        for (const auto& [k, v] : extra)
            envs.push_back(k + "=" + v);
        for (auto& s : args)
            argv.push_back(s.data());
        argv.push_back(nullptr);
        for (auto& s : envs)
            envp.push_back(s.data());
        envp.push_back(nullptr);
    }
};

void child_fail(const char* what)
{
    // async-signal-safe report on the captured stderr
    const int e = errno;
    [[maybe_unused]] ssize_t n = ::write(2, "harness child: ", 15);
    n = ::write(2, what, std::strlen(what));
    n = ::write(2, ": ", 2);
    const char* msg = std::strerror(e);
    n = ::write(2, msg, std::strlen(msg));
    n = ::write(2, "\n", 1);
    ::_exit(127);
}

// Runs in the child after fork: streams, signals, credentials, parent death.
void child_setup(int null_fd, int out_fd, int err_fd, const SpawnOptions& opts, pid_t parent)
{
    if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0)
        ::_exit(127);
    if (!opts.netns.empty()) {
#ifdef __linux__
        const int ns = ::open(opts.netns.c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0)
            child_fail(opts.netns.c_str());
#else
        errno = ENOTSUP;
        child_fail(opts.netns.c_str());
#endif
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGHUP, SIGTERM, SIGINT, SIGCHLD})
        ::signal(sig, SIG_DFL);
    if (opts.as_nobody) {
        if (::setgroups(0, nullptr) != 0)
            child_fail("setgroups");
        if (::setgid(kNobodyGid) != 0)
            child_fail("setgid");
        if (::setuid(kNobodyUid) != 0)
            child_fail("setuid");
    }
#ifdef __linux__
    // After the credential change, which clears it. Dies with the test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
        ::_exit(127);
#else
    (void)parent;
#endif
}

std::string status_text(int exit_code, int sig, bool timed_out)
{
    std::ostringstream s;
    if (exit_code >= 0)
        s << "exit " << exit_code;
    else if (sig != 0)
        s << "signal " << sig;
    else
        s << "not finished";
    if (timed_out)
        s << " (timed out, killed)";
    return s.str();
}

} // namespace

namespace {
// Paths come from the build (tests/support/CMakeLists.txt); the environment
// may override them to test an installed tree.
std::string path_setting(const char* env_name, const char* built_in)
{
    if (const char* v = std::getenv(env_name); v != nullptr && *v != '\0')
        return v;
    return built_in;
}
} // namespace

std::string bin_path(const std::string& program)
{
    return path_setting("KEXTCONF_BIN_DIR", KEXTCONF_HARNESS_BIN_DIR) + "/" + program;
}

std::string kext_dir()
{
    return path_setting("KEXTCONF_KEXT_DIR", KEXTCONF_HARNESS_KEXT_DIR);
}

std::string kext_bundle()
{
    return path_setting("KEXTCONF_KEXT_BUNDLE", (kext_dir() + "/KextconfReference.kext").c_str());
}

std::string source_dir()
{
    return path_setting("KEXTCONF_SOURCE_DIR", KEXTCONF_HARNESS_SOURCE_DIR);
}

void set_failure_reporter(FailureReporter reporter)
{
    g_reporter = reporter != nullptr ? reporter : print_failure;
}

void report_failure(const std::string& what)
{
    g_reporter(what);
}

bool wait_until(const std::function<bool()>& pred, Millis timeout, Millis interval)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (pred())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return pred();
        std::this_thread::sleep_for(interval);
    }
}

// ---- TempDir ----

TempDir::TempDir(const std::string& prefix)
{
    std::string tmpl = prefix + "XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        report_failure("mkdtemp " + tmpl + ": " + std::strerror(errno));
        return;
    }
    ::chmod(tmpl.c_str(), 0755);
    path_ = tmpl;
}

TempDir::~TempDir()
{
    if (path_.empty())
        return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec)
        report_failure("cannot remove " + path_ + ": " + ec.message());
}

// ---- ScopedEnv ----

ScopedEnv::ScopedEnv(const char* name, const std::string& value) : name_(name)
{
    if (const char* old = std::getenv(name); old != nullptr)
        old_ = old;
    ::setenv(name, value.c_str(), 1);
}

ScopedEnv::~ScopedEnv()
{
    if (old_)
        ::setenv(name_, old_->c_str(), 1);
    else
        ::unsetenv(name_);
}

std::string asan_without_leak_check()
{
    const char* asan = std::getenv("ASAN_OPTIONS");
    return std::string(asan ? asan : "") + (asan && *asan ? ":" : "") + "detect_leaks=0";
}

void write_file(const std::string& path, const std::string& text)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f)
        report_failure("cannot write " + path);
    ::chmod(path.c_str(), 0644);
}

void replace_file(const std::string& path, const std::string& text)
{
    const std::string tmp = path + ".tmp";
    write_file(tmp, text);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        report_failure("rename " + tmp + " -> " + path + ": " + std::strerror(errno));
}

std::string read_file(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        report_failure("cannot read " + path);
        return {};
    }
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::size_t count_of(const std::string& text, const std::string& what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
        ++n;
    return n;
}

std::string Result::describe() const
{
    return status_text(exit_code, term_signal, timed_out) + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
}

// ---- Process ----

Process::Process(std::vector<std::string> argv, SpawnOptions opts)
{
    if (argv.empty()) {
        report_failure("Process: empty argv");
        return;
    }
    name_ = argv[0];
    out_fd_ = capture_file();
    err_fd_ = capture_file();
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd_ < 0 || err_fd_ < 0 || null_fd < 0) {
        if (null_fd >= 0)
            ::close(null_fd);
        return;
    }
    ExecImage image(std::move(argv), opts.env);
    const pid_t parent = ::getpid();
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        report_failure(std::string("fork: ") + std::strerror(errno));
        ::close(null_fd);
        return;
    }
    if (pid == 0) {
        child_setup(null_fd, out_fd_, err_fd_, opts, parent);
        ::execve(image.argv[0], image.argv.data(), image.envp.data());
        child_fail(image.argv[0]);
    }
    ::close(null_fd);
    pid_ = pid;
#ifdef __linux__
    // Wakes the waits on stderr as soon as the child writes.
    err_watch_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (err_watch_ >= 0 &&
        ::inotify_add_watch(err_watch_, ("/proc/self/fd/" + std::to_string(err_fd_)).c_str(), IN_MODIFY) < 0) {
        ::close(err_watch_);
        err_watch_ = -1;
    }
#endif
}

Process::~Process()
{
    kill();
    if (out_fd_ >= 0)
        ::close(out_fd_);
    if (err_fd_ >= 0)
        ::close(err_fd_);
    if (err_watch_ >= 0)
        ::close(err_watch_);
}

bool Process::running()
{
    if (pid_ <= 0 || reaped_)
        return false;
    int st = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
        status_ = st;
        reaped_ = true;
        return false;
    }
    return r == 0;
}

bool Process::signal(int sig)
{
    if (!running())
        return false;
    return ::kill(pid_, sig) == 0;
}

bool Process::wait(Millis timeout)
{
    if (pid_ <= 0)
        return false;
    if (wait_until([this] { return !running(); }, timeout, 2ms))
        return true;
    timed_out_ = true;
    kill();
    return false;
}

int Process::terminate(Millis timeout)
{
    signal(SIGTERM);
    wait(timeout);
    return exit_code();
}

void Process::kill()
{
    if (pid_ <= 0 || reaped_)
        return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &st, 0);
    } while (r < 0 && errno == EINTR);
    status_ = st;
    reaped_ = true;
}

int Process::exit_code() const
{
    return reaped_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

int Process::term_signal() const
{
    return reaped_ && WIFSIGNALED(status_) ? WTERMSIG(status_) : 0;
}

std::string Process::out() const
{
    return read_fd(out_fd_);
}

std::string Process::err() const
{
    return read_fd(err_fd_);
}

void Process::await_err_growth(std::size_t seen, std::chrono::steady_clock::time_point until)
{
    using std::chrono::steady_clock;
    // Slices of at most 20 ms: the child's exit does not touch the file.
    const auto slice = std::min(until, steady_clock::now() + 20ms);
    if (err_watch_ < 0) {
        std::this_thread::sleep_until(std::min(slice, steady_clock::now() + 2ms));
        return;
    }
    while (steady_clock::now() < slice) {
        char events[4096];
        while (::read(err_watch_, events, sizeof events) > 0) {
        }
        if (err().size() != seen)
            return;
        const auto left = std::chrono::duration_cast<Millis>(slice - steady_clock::now()).count();
        pollfd p{err_watch_, POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 1)));
    }
}

bool Process::wait_for_err(const std::string& text, Millis timeout)
{
    return wait_for_err([&](const std::string& e) { return e.find(text) != std::string::npos; }, timeout);
}

bool Process::wait_for_err(const std::function<bool(const std::string&)>& pred, Millis timeout)
{
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const std::string e = err();
        if (pred(e))
            return true;
        // The last read below comes after the exit: it sees the final words.
        if (!running() || std::chrono::steady_clock::now() >= until)
            return pred(err());
        await_err_growth(e.size(), until);
    }
}

bool Process::next_err_line(const std::string& text, Millis timeout)
{
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const std::string e = err();
        for (auto nl = e.find('\n', consumed_); nl != std::string::npos; nl = e.find('\n', consumed_)) {
            const bool hit = e.compare(consumed_, nl - consumed_, text) == 0 ||
                             e.substr(consumed_, nl - consumed_).find(text) != std::string::npos;
            consumed_ = nl + 1;
            if (hit)
                return true;
        }
        if (!running() && err().size() == e.size())
            return false;
        if (std::chrono::steady_clock::now() >= until)
            return false;
        await_err_growth(e.size(), until);
    }
}

Result Process::result() const
{
    Result r;
    r.exit_code = exit_code();
    r.term_signal = term_signal();
    r.timed_out = timed_out_;
    r.out = out();
    r.err = err();
    return r;
}

Result run(std::vector<std::string> argv, SpawnOptions opts, Millis timeout)
{
    Process p(std::move(argv), std::move(opts));
    if (!p.started())
        return {};
    p.wait(timeout);
    return p.result();
}

Result run_in_child(const std::function<int()>& fn, bool as_nobody, Millis timeout)
{
    Result res;
    const int out_fd = capture_file();
    const int err_fd = capture_file();
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const auto cleanup = [&] {
        for (int fd : {out_fd, err_fd, null_fd})
            if (fd >= 0)
                ::close(fd);
    };
    if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
        cleanup();
        return res;
    }
    const pid_t parent = ::getpid();
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        report_failure(std::string("fork: ") + std::strerror(errno));
        cleanup();
        return res;
    }
    if (pid == 0) {
        SpawnOptions opts;
        opts.as_nobody = as_nobody;
        child_setup(null_fd, out_fd, err_fd, opts, parent);
        int code = 125;
        try {
            code = fn();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "harness child: exception: %s\n", e.what());
        }
        std::fflush(nullptr);
        ::_exit(code); // no atexit handlers: the parent owns gtest's state
    }
    int st = 0;
    const bool done = wait_until(
        [&] {
            const pid_t r = ::waitpid(pid, &st, WNOHANG);
            return r == pid || (r < 0 && errno != EINTR);
        },
        timeout, 2ms);
    if (!done) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        res.timed_out = true;
    }
    res.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    res.term_signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    res.out = read_fd(out_fd);
    res.err = read_fd(err_fd);
    cleanup();
    return res;
}

} // namespace kctest
