// 8. Daemon footprint: kextconfd's resident set at idle (a 16-tunable
// config) and after applying a big config (the reference kext with a
// 100,000-entry blocked_ports list), its wakeups (voluntary + involuntary context switches summed over
// its threads, /proc/<pid>/task/*/status) and CPU time (utime + stime,
// /proc/<pid>/stat) over an idle window, and its start-up time to the first
// verified apply. Target: zero wakeups while idle (DESIGN.md rule 4).
#include "benches.hpp"

#include <csignal>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>

namespace kcbench {

namespace {

struct Daemon {
    Daemon(const KextsimBoot& host, const std::string& config, const std::string& state_dir)
    {
        const auto t0 = Clock::now();
        child =
            std::make_unique<Process>(std::vector<std::string>{bin_path("kextconfd"), "--config", config, "--state-dir",
                                                               state_dir, "--admin-socket", state_dir + "/admin.sock"},
                                      SpawnOptions{{{"KEXTSIM_ROOT", host.root()}}, false, {}});
        if (!child->next_err_line("applied ", 30s))
            throw std::runtime_error("kextconfd did not apply " + config + ": " + child->err());
        startup_s = seconds_since(t0);
    }
    std::unique_ptr<Process> child;
    double startup_s = 0;
};

std::string bench16_config()
{
    std::ostringstream out;
    out << "{ \"kext\": \"org.kextconf.bench16\", \"tunables\": {";
    for (int i = 0; i < 16; ++i)
        out << (i ? ", " : "") << "\"t0" << std::hex << i << std::dec << "\": " << 7 * i + 1;
    out << "} }\n";
    return out.str();
}

} // namespace

void bench_footprint(Table& t, const Options& o)
{
    const auto boot = boot_kexts({{"BenchKext16", "org.kextconf.bench16"}, {"KextconfReference", kReferenceBundleId}});
    const KextsimBoot& host = *boot;
    TempDir dir;
    const int entries = o.smoke ? 1000 : 100000;
    write_file(dir.file("small.json"), bench16_config());
    write_file(dir.file("big.json"), list_config(entries, 0));
    ::mkdir(dir.file("s1").c_str(), 0700);
    ::mkdir(dir.file("s2").c_str(), 0700);
    Daemon small(host, dir.file("small.json"), dir.file("s1"));
    Daemon big(host, dir.file("big.json"), dir.file("s2"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // let start-up settle
    const ProcStats s0 = proc_stats_all_threads(small.child->pid());
    const ProcStats b0 = proc_stats_all_threads(big.child->pid());
    std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
    const ProcStats s1 = proc_stats_all_threads(small.child->pid());
    const ProcStats b1 = proc_stats_all_threads(big.child->pid());
    if (!s0.ok || !s1.ok || !b0.ok || !b1.ok)
        throw std::runtime_error("kextconfd exited during the idle window");
    const std::string window = fmt_num(o.idle_seconds) + " s idle";
    const std::string big_name = std::to_string(entries) + "-entry list";
    t.add({"8", "kextconfd RSS at idle (16 tunables)", std::to_string(s1.rss_kb) + " KiB", "", 0, "", true});
    t.add({"8", "kextconfd RSS after applying a " + big_name, std::to_string(b1.rss_kb) + " KiB", "", 0, "", true});
    for (const auto* d : {&s0, &b0}) {
        const ProcStats& a = *d;
        const ProcStats& z = d == &s0 ? s1 : b1;
        const long wakeups =
            (z.voluntary_switches - a.voluntary_switches) + (z.involuntary_switches - a.involuntary_switches);
        const std::string which = d == &s0 ? "16 tunables" : big_name;
        t.add({"8", "wakeups over " + window + " (" + which + ")", std::to_string(wakeups), "", 0, "0", wakeups == 0});
        t.add({"8", "CPU time over " + window + " (" + which + ")", fmt_time(z.cpu_s - a.cpu_s), "", 0, "", true});
    }
    t.add({"8", "start-up to first verified apply (16 tunables)", fmt_time(small.startup_s), "", 0, "", true});
    t.add({"8", "start-up to first verified apply (" + big_name + ")", fmt_time(big.startup_s), "", 0, "", true});
    small.child->terminate(30s);
    big.child->terminate(30s);
}

} // namespace kcbench
