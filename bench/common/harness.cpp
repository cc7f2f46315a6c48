#include "harness.hpp"

#include <kextsim/client.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <poll.h>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace kcbench {

std::string bin_dir()
{
    return KCBENCH_BIN_DIR;
}

std::string kext_dir()
{
    return KCBENCH_KEXT_DIR;
}

TempDir::TempDir(const std::string& prefix)
{
    std::string tmpl = prefix + "XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
        throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
    ::chmod(tmpl.c_str(), 0755);
    path_ = tmpl;
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& text)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f)
        throw std::runtime_error("cannot write " + path);
}

void rename_save(const std::string& path, const std::string& text)
{
    write_file(path + ".tmp", text);
    if (::rename((path + ".tmp").c_str(), path.c_str()) != 0)
        throw std::runtime_error("rename over " + path + ": " + std::strerror(errno));
}

Child::Child(std::vector<std::string> argv, Options opts)
{
    int pipefd[2] = {-1, -1};
    const bool use_pipe = !opts.quiet_stderr && opts.err_file.empty();
    if (use_pipe && ::pipe2(pipefd, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        const int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        if (!opts.capture_stdout)
            ::dup2(devnull, 1);
        if (!opts.err_file.empty()) {
            const int f = ::open(opts.err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(f, 2);
        } else {
            ::dup2(opts.quiet_stderr ? devnull : pipefd[1], 2);
        }
        if (!opts.netns.empty()) {
            const int ns = ::open(opts.netns.c_str(), O_RDONLY | O_CLOEXEC);
            if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
                std::fprintf(stderr, "setns %s: %s\n", opts.netns.c_str(), std::strerror(errno));
                ::_exit(127);
            }
        }
        for (const auto& [k, v] : opts.env)
            ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> args;
        for (auto& a : argv)
            args.push_back(a.data());
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    if (use_pipe) {
        ::close(pipefd[1]);
        err_fd_ = pipefd[0];
    }
}

Child::~Child()
{
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
    }
    if (err_fd_ >= 0)
        ::close(err_fd_);
}

bool Child::wait_for_line(const std::string& text, double timeout_s)
{
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
        // A complete line containing text among those not yet scanned?
        for (;;) {
            const auto nl = err_.find('\n', scanned_);
            if (nl == std::string::npos)
                break;
            const bool hit = err_.compare(scanned_, nl - scanned_, text) == 0 ||
                             err_.substr(scanned_, nl - scanned_).find(text) != std::string::npos;
            scanned_ = nl + 1;
            if (hit)
                return true;
        }
        if (err_fd_ < 0)
            return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return false;
        pollfd p{err_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0)
            continue;
        char buf[4096];
        const ssize_t n = ::read(err_fd_, buf, sizeof buf);
        if (n <= 0) {
            ::close(err_fd_);
            err_fd_ = -1;
            continue;
        }
        err_.append(buf, static_cast<std::size_t>(n));
    }
}

int Child::wait(double timeout_s)
{
    if (reaped_)
        return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
        const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
        }
        if (Clock::now() > deadline)
            return -1;
        // Drain stderr meanwhile so a chatty child never blocks on the pipe.
        if (err_fd_ >= 0) {
            pollfd p{err_fd_, POLLIN, 0};
            if (::poll(&p, 1, 2) > 0) {
                char buf[4096];
                const ssize_t n = ::read(err_fd_, buf, sizeof buf);
                if (n > 0)
                    err_.append(buf, static_cast<std::size_t>(n));
                else {
                    ::close(err_fd_);
                    err_fd_ = -1;
                }
            }
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
}

int Child::stop(int sig, double timeout_s)
{
    if (!reaped_)
        ::kill(pid_, sig);
    const int st = wait(timeout_s);
    if (st == -1) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        reaped_ = true;
    }
    return st;
}

int run(const std::vector<std::string>& argv, double timeout_s, std::string* out)
{
    std::string tmp;
    TempDir dir;
    const std::string outfile = dir.file("out");
    std::vector<std::string> sh = {"/bin/sh", "-c", "exec \"$0\" \"$@\" >" + outfile};
    sh.insert(sh.end(), argv.begin(), argv.end());
    Child c(out ? sh : argv, {{}, false, true, {}, {}});
    const int st = c.wait(timeout_s);
    if (out) {
        std::ifstream f(outfile);
        std::stringstream ss;
        ss << f.rdbuf();
        *out = ss.str();
    }
    return st;
}

Kextsim::Kextsim(const std::vector<std::string>& bundles, const std::string& control) : dir_("/tmp/kcb-host.")
{
    std::vector<std::string> argv = {bin_dir() + "/kextsim", "boot"};
    for (const auto& b : bundles) {
        argv.push_back("--load");
        argv.push_back(b);
    }
    // The kernel log goes to a file: a pipe nobody reads would fill and
    // stall the kext's next os_log (and the call that logs).
    host_ = std::make_unique<Child>(
        argv, Child::Options{{{"KEXTSIM_ROOT", root()}}, false, false, {}, dir_.file("kextsim.log")});
    // Ready when the control is registered: poll (bounded) through the
    // client library, as a client would find it.
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
        auto s = kextsim::SystemSocket::open(kextsim::kSockDgram, kextsim::kSysprotoControl, root());
        if (s) {
            kextsim::ctl_info info{};
            std::strncpy(info.ctl_name, control.c_str(), sizeof info.ctl_name - 1);
            if (s->ioctl(kextsim::kCtlIocGInfo, &info) == 0) {
                ready_ = true;
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!ready_) {
        std::ifstream log(dir_.file("kextsim.log"));
        std::stringstream ss;
        ss << log.rdbuf();
        std::fprintf(stderr, "kcbench: kextsim did not come up: %s\n", ss.str().c_str());
    }
}

Kextsim::~Kextsim()
{
    host_->stop(SIGTERM, 10);
}

void Kextsim::use() const
{
    ::setenv("KEXTSIM_ROOT", root().c_str(), 1);
}

double Samples::percentile(double p)
{
    if (v_.empty())
        return 0;
    if (!sorted_) {
        std::sort(v_.begin(), v_.end());
        sorted_ = true;
    }
    const double rank = p / 100.0 * static_cast<double>(v_.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    const auto hi = std::min(lo + 1, v_.size() - 1);
    const double frac = rank - static_cast<double>(lo);
    return v_[lo] * (1 - frac) + v_[hi] * frac;
}

double Samples::mean() const
{
    if (v_.empty())
        return 0;
    return std::accumulate(v_.begin(), v_.end(), 0.0) / static_cast<double>(v_.size());
}

std::string fmt_num(double v, int digits)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

std::string fmt_time(double s)
{
    char buf[64];
    if (s < 1e-6)
        std::snprintf(buf, sizeof buf, "%.0f ns", s * 1e9);
    else if (s < 1e-3)
        std::snprintf(buf, sizeof buf, "%.2f us", s * 1e6);
    else if (s < 1)
        std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

bool Table::all_met() const
{
    return std::all_of(rows_.begin(), rows_.end(), [](const Row& r) { return r.met; });
}

bool Table::budgets_met() const
{
    return std::all_of(rows_.begin(), rows_.end(), [](const Row& r) { return r.met || !r.budget; });
}

bool Table::print() const
{
    std::printf("| # | measure | kextconf | baseline | ratio | target | met |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const auto& r : rows_) {
        const std::string ratio = r.ratio > 0 ? fmt_num(r.ratio) + "x" : "-";
        std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.bench.c_str(), r.metric.c_str(), r.subject.c_str(),
                    r.baseline.empty() ? "-" : r.baseline.c_str(), ratio.c_str(),
                    r.target.empty() ? "-" : r.target.c_str(), r.target.empty() ? "-" : (r.met ? "yes" : "NO"));
    }
    std::fflush(stdout);
    return all_met();
}

namespace {

long status_field(const std::string& text, const char* key)
{
    const auto pos = text.find(key);
    if (pos == std::string::npos)
        return 0;
    return std::strtol(text.c_str() + pos + std::strlen(key), nullptr, 10);
}

std::string slurp(const std::string& path)
{
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

} // namespace

ProcStats proc_stats(pid_t pid)
{
    ProcStats s;
    const std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    if (status.empty() || stat.empty())
        return s;
    s.rss_kb = status_field(status, "VmRSS:");
    s.voluntary_switches = status_field(status, "voluntary_ctxt_switches:");
    s.involuntary_switches = status_field(status, "nonvoluntary_ctxt_switches:");
    // Fields after the command name (which may hold spaces): state is #3;
    // utime #14 and stime #15.
    const auto close = stat.rfind(')');
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && (in >> field); ++i) {
        if (i == 14)
            utime = std::stol(field);
        if (i == 15)
            stime = std::stol(field);
    }
    s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.ok = true;
    return s;
}

ProcStats proc_stats_all_threads(pid_t pid)
{
    ProcStats s = proc_stats(pid);
    if (!s.ok)
        return s;
    s.voluntary_switches = 0;
    s.involuntary_switches = 0;
    const std::string task = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(task, ec)) {
        const std::string st = slurp(e.path().string() + "/status");
        // "nonvoluntary_ctxt_switches:" contains "voluntary_ctxt_switches:";
        // match the line start.
        s.voluntary_switches += status_field(st, "\nvoluntary_ctxt_switches:");
        s.involuntary_switches += status_field(st, "nonvoluntary_ctxt_switches:");
    }
    return s;
}

} // namespace kcbench
