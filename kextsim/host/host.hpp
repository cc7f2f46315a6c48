// The simulated kernel's global state, one per `kextsim boot` process (or per
// in-process test harness): the control registry, the event service, memory
// and lock accounting, fault injection, the sysctl tree, the kernel log and
// the loaded kexts.
#pragma once

#include "controls.hpp"
#include "events.hpp"
#include "log.hpp"
#include "memory.hpp"
#include "sysctl.hpp"
#include "thread_calls.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace kextsim {

enum class FaultSite {
    Alloc = 0,     // OSMalloc and kextsim's own kernel allocations: NULL
    Enqueue = 1,   // ctl_enqueuedata: ENOMEM (mbuf allocation failed)
    EventPost = 2, // kev_msg_post: ENOMEM
    Enobufs = 3,   // ctl_enqueuedata: ENOBUFS, as if the client's buffer were full
    RwUpgrade = 4, // lck_rw_lock_shared_to_exclusive: fails and drops the lock
    Stall = 5,     // a control's setsockopt/getsockopt (kextsim boot only): never answered; the host
                   // waits until the client goes away, then drops the request unrun
    Count = 6
};
const char* fault_site_name(FaultSite site);

// Systematic fault injection ("fail the N-th call at this site", as Linux's
// fail-nth): armed from KEXTSIM_FAIL / --fail "alloc:N,enqueue:N,..." at boot.
// Each injected fault is logged with its site and call number.
class FaultPlan {
public:
    void arm(FaultSite site, std::uint64_t nth);
    bool arm_from_spec(const std::string& spec, std::string& error);
    bool should_fail(FaultSite site);
    std::uint64_t injected() const { return injected_.load(); }

private:
    std::atomic<std::uint64_t> calls_[static_cast<int>(FaultSite::Count)]{};
    std::atomic<std::uint64_t> nth_[static_cast<int>(FaultSite::Count)]{};
    std::atomic<std::uint64_t> injected_{0};
};

struct Host {
    ControlRegistry controls;
    EventService events;
    MemoryTracker memory;
    FaultPlan faults;
    SysctlTree sysctl;
    KernelLog log;
    ThreadCalls thread_calls; // last: its timer thread stops first at exit
};

Host& host();

// Load index of the kext whose code the current thread is running (start,
// stop), or -1. Used to attribute controls and tags to a kext.
int current_kext();
void set_current_kext(int index);

// True while the calling thread holds an lck_spin (blocking is then a bug).
bool holding_spin_lock();

// The process the current thread serves, as proc_selfpid/kauth_getuid see
// it: a session thread sets its client's; unset threads (the loader in
// process, in-process clients) are this process; the timer thread is
// kernel_task (pid 0, uid 0).
void set_current_proc(int pid, unsigned uid);
bool on_timer_thread();

// "at <image>+0x1234 (addr2line ...)" or "in <symbol>+0x12 (<image>)" for
// an address in a kext: how misuse messages and leak reports name code.
std::string code_site(const void* addr);

} // namespace kextsim
