#include "host.hpp"

#include <cstdio>
#include <sstream>

namespace kextsim {

namespace {
thread_local int t_current_kext = -1;

constexpr const char* kSiteNames[] = {"alloc", "enqueue", "event", "enobufs", "rw_upgrade", "stall"};
static_assert(sizeof kSiteNames / sizeof kSiteNames[0] == static_cast<int>(FaultSite::Count));

bool site_from_name(const std::string& name, FaultSite& site)
{
    for (int i = 0; i < static_cast<int>(FaultSite::Count); ++i) {
        if (name == kSiteNames[i]) {
            site = static_cast<FaultSite>(i);
            return true;
        }
    }
    return false;
}
} // namespace

const char* fault_site_name(FaultSite site)
{
    return kSiteNames[static_cast<int>(site)];
}

Host& host()
{
    static Host h;
    return h;
}

int current_kext()
{
    return t_current_kext;
}

void set_current_kext(int index)
{
    t_current_kext = index;
}

void FaultPlan::arm(FaultSite site, std::uint64_t nth)
{
    const int i = static_cast<int>(site);
    calls_[i] = 0;
    nth_[i] = nth;
}

bool FaultPlan::arm_from_spec(const std::string& spec, std::string& error)
{
    std::istringstream in(spec);
    std::string item;
    while (std::getline(in, item, ',')) {
        const auto colon = item.find(':');
        FaultSite site{};
        if (colon == std::string::npos || !site_from_name(item.substr(0, colon), site)) {
            error = "bad fault spec \"" + item +
                    "\" (expected SITE:N; sites: alloc, enqueue, event, enobufs, rw_upgrade, stall)";
            return false;
        }
        try {
            arm(site, std::stoull(item.substr(colon + 1)));
        } catch (const std::exception&) {
            error = "bad fault count in \"" + item + "\"";
            return false;
        }
    }
    return true;
}

bool FaultPlan::should_fail(FaultSite site)
{
    const int i = static_cast<int>(site);
    const std::uint64_t nth = nth_[i].load();
    if (nth == 0)
        return false;
    const std::uint64_t call = ++calls_[i];
    if (call != nth)
        return false;
    ++injected_;
    std::fprintf(stderr, "kextsim: fault injected: %s call #%llu fails\n", fault_site_name(site),
                 static_cast<unsigned long long>(call));
    return true;
}

} // namespace kextsim

#include "kxs_abi.h"

#include <chrono>
#include <unistd.h>

namespace kextsim {
namespace {
struct CurrentProc {
    bool set;
    int pid;
    unsigned uid;
};
thread_local CurrentProc t_proc{false, 0, 0};
} // namespace

void set_current_proc(int pid, unsigned uid)
{
    t_proc = {true, pid, uid};
}
} // namespace kextsim

extern "C" void kxs_host_current_proc(int32_t* pid, uint32_t* uid)
{
    if (kextsim::on_timer_thread()) {
        *pid = 0;
        *uid = 0;
    } else if (kextsim::t_proc.set) {
        *pid = kextsim::t_proc.pid;
        *uid = kextsim::t_proc.uid;
    } else {
        *pid = static_cast<int32_t>(::getpid());
        *uid = static_cast<uint32_t>(::geteuid());
    }
}

extern "C" uint64_t kxs_host_wall_ns(void)
{
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

extern "C" uint64_t kxs_host_uptime_ns(void)
{
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}
