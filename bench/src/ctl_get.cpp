// 9. A one-shot read as a whole process: `kextconfctl get max_clients` (the
// query control of the reference kext, through kextsim) against
// `sysctl -n net.core.somaxconn`, fork+exec to exit, alternating A/B. What
// an administrator's script pays per read.
#include "benches.hpp"

#include <stdexcept>

namespace kcbench {

namespace {

double run_to_exit(const std::vector<std::string>& argv, const kctest::Env& env, const char* what)
{
    const auto t0 = Clock::now();
    Process p(argv, SpawnOptions{env, false, {}});
    p.wait(30s);
    const double s = seconds_since(t0);
    if (p.exit_code() != 0 || p.out().empty())
        throw std::runtime_error(std::string(what) + " failed: " + p.describe());
    return s;
}

} // namespace

void bench_ctl_get(Table& t, const Options& o)
{
    const auto host = boot_kexts({{"KextconfReference", kctest::kReferenceBundleId}});
    const kctest::Env env = {{"KEXTSIM_ROOT", host->root()}};
    const std::vector<std::string> ctl = {bin_path("kextconfctl"), "get", "max_clients"};
    const std::vector<std::string> sysctl = {"/usr/sbin/sysctl", "-n", "net.core.somaxconn"};
    const int pairs = o.smoke ? 2 : o.quick ? 10 : 30;
    run_to_exit(ctl, env, "kextconfctl get"); // warm-up: page cache
    run_to_exit(sysctl, {}, "sysctl -n");
    Samples c, s;
    for (int i = 0; i < pairs; ++i) {
        c.add(run_to_exit(ctl, env, "kextconfctl get"));
        s.add(run_to_exit(sysctl, {}, "sysctl -n"));
    }
    const double cm = c.median(), sm = s.median();
    t.add({"9", "kextconfctl get NAME, whole process (median)", fmt_time(cm),
           fmt_time(sm) + " sysctl -n net.core.somaxconn", cm / sm, "<= 1.2x", cm / sm <= 1.2});
    const double cl = c.percentile(0), sl = s.percentile(0);
    t.add({"9", "kextconfctl get NAME, whole process (fastest)", fmt_time(cl), fmt_time(sl) + " sysctl -n", cl / sl, "",
           true});
}

} // namespace kcbench
