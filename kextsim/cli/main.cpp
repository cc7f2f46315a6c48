// kextsim: a user-space host for the XNU KPIs a kext uses, and its
// kmutil-like command line.
//
//   kextsim boot [--root DIR] [--load PATH.kext]... [--fail SITE:N,...]
//   kextsim load PATH.kext
//   kextsim unload BUNDLE_ID
//   kextsim showloaded
//   kextsim stats
//   kextsim sysctl -a | NAME[=VALUE]...
//   kextsim log [--follow]
#include "host.hpp"
#include "kernel_commands.hpp"
#include "server.hpp"

#include <kextsim/client.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <pthread.h>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kUsage = R"(usage: kextsim COMMAND [ARGS]

A user-space host for the XNU kernel KPIs (kernel control, kernel events,
sysctl, logging, locks, OSMalloc, kmod), so an unchanged kext runs as a
process on Linux.

commands:
  boot [--root DIR] [--load PATH.kext]... [--fail SITE:N[,SITE:N]] [--recvsize BYTES]
                       run the host in the foreground until SIGINT/SIGTERM;
                       --fail fails the N-th call at SITE (alloc, enqueue,
                       enobufs, event, rw_upgrade; stall leaves the N-th
                       control get/setsockopt unanswered until the client
                       goes away; see docs/kextsim.md);
                       --recvsize overrides every control's receive buffer
                       (ctl_recvsize) to make ENOBUFS easy to reach
  load PATH.kext       load a kext bundle and run its start routine
  unload BUNDLE_ID     run the kext's stop routine and unload it; a failing
                       stop (e.g. clients still connected) refuses the unload
  showloaded           list loaded kexts
  stats                controls, units and kern_event drop counters
  sysctl -a | NAME[=VALUE]...
                       read (and, as root, write) the OIDs kexts registered,
                       like sysctl(8): -a lists all, a node lists what is
                       under it; an unknown name exits 1
  log [--follow]       print the kernel log (os_log, printf, IOLog of every
                       kext, the last 1000 lines); --follow keeps printing
                       new lines until interrupted

environment:
  KEXTSIM_ROOT         runtime directory holding kernel.sock
                       (default: /run/kextsim for root, else /tmp/kextsim-UID)
  KEXTSIM_FAIL         same as --fail, read by boot

exit status: 0 on success, 1 when the host refused, 2 on usage errors.
)";

int usage_error(const std::string& msg)
{
    std::fprintf(stderr, "kextsim: %s\n\n%s", msg.c_str(), kUsage);
    return 2;
}

int print_result(const kextsim::AdminResult& r)
{
    if (!r.message.empty())
        std::fprintf(r.error ? stderr : stdout, "%s%s%s", r.error ? "kextsim: " : "", r.message.c_str(),
                     r.message.back() == '\n' ? "" : "\n");
    return r.error ? 1 : 0;
}

struct BootOptions {
    std::string root = kextsim::runtime_root();
    std::vector<std::string> loads;
};

// Reads boot's options (and KEXTSIM_FAIL) into `o`, arming the host's
// faults and receive size as it goes; a usage error's text, or "".
std::string parse_boot_options(const std::vector<std::string>& args, BootOptions& o)
{
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if ((a == "--root" || a == "--load" || a == "--fail" || a == "--recvsize") && i + 1 >= args.size())
            return a + " needs a value";
        if (a == "--root") {
            o.root = args[++i];
        } else if (a == "--load") {
            o.loads.push_back(args[++i]);
        } else if (a == "--recvsize") {
            const std::string& v = args[++i];
            char* end = nullptr;
            const unsigned long n = std::strtoul(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || n == 0 || n > 8u * 1024 * 1024)
                return "--recvsize needs a byte count from 1 to 8388608";
            kextsim::host().controls.set_recvsize_override(static_cast<std::uint32_t>(n));
        } else if (a == "--fail") {
            std::string err;
            if (!kextsim::host().faults.arm_from_spec(args[++i], err))
                return err;
        } else {
            return "unknown boot option " + a;
        }
    }
    if (const char* spec = std::getenv("KEXTSIM_FAIL"); spec != nullptr) {
        std::string err;
        if (!kextsim::host().faults.arm_from_spec(spec, err))
            return "KEXTSIM_FAIL: " + err;
    }
    return "";
}

// Serves until SIGINT or SIGTERM, loading `loads` first; 0 on a clean stop.
int serve(kextsim::Server& server, const std::vector<std::string>& loads, sigset_t& set)
{
    std::thread watcher([&] {
        int sig = 0;
        sigwait(&set, &sig);
        std::fprintf(stderr, "kextsim: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        server.stop();
    });
    std::fprintf(stderr, "kextsim: booted, serving %s\n", server.socket_path().c_str());
    for (const auto& path : loads) {
        if (std::string err = server.loader().load(path); !err.empty()) {
            std::fprintf(stderr, "kextsim: load %s failed: %s\n", path.c_str(), err.c_str());
        } else {
            std::fprintf(stderr, "kextsim: loaded %s\n", path.c_str());
        }
    }
    server.run();
    std::vector<std::string> errors;
    server.shutdown(errors);
    for (const auto& e : errors)
        std::fprintf(stderr, "kextsim: %s\n", e.c_str());
    if (watcher.joinable()) {
        pthread_kill(watcher.native_handle(), SIGTERM); // no-op if it already returned
        watcher.join();
    }
    std::fprintf(stderr, "kextsim: stopped\n");
    return errors.empty() ? 0 : 1;
}

int boot(const std::vector<std::string>& args)
{
    BootOptions o;
    if (std::string err = parse_boot_options(args, o); !err.empty())
        return usage_error(err);

    // Signals go to one watcher thread; every other thread blocks them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    kextsim::Server server(o.root);
    if (std::string err = server.start(); !err.empty()) {
        std::fprintf(stderr, "kextsim: %s\n", err.c_str());
        return 1;
    }
    return serve(server, o.loads, set);
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty())
        return usage_error("missing command");
    const std::string cmd = args.front();
    args.erase(args.begin());
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "boot")
        return boot(args);
    if (cmd == "load" || cmd == "unload") {
        if (args.size() != 1)
            return usage_error(cmd + " takes exactly one argument");
        if (cmd == "unload")
            return print_result(kextsim::unload_kext(args[0]));
        // The host resolves paths against its own working directory.
        std::error_code ec;
        const auto abs = std::filesystem::absolute(args[0], ec);
        return print_result(kextsim::load_kext(ec ? args[0] : abs.lexically_normal().string()));
    }
    if (cmd == "showloaded" || cmd == "stats") {
        if (!args.empty())
            return usage_error(cmd + " takes no arguments");
        return print_result(cmd == "showloaded" ? kextsim::show_loaded() : kextsim::host_stats());
    }
    if (cmd == "sysctl")
        return kextsim::cli::sysctl_command(args);
    if (cmd == "log")
        return kextsim::cli::log_command(args);
    return usage_error("unknown command " + cmd);
}
