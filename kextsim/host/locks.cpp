// The lock KPI's host side: lck_mtx, lck_rw and lck_spin as one reader/writer
// lock with ownership tracking, plus msleep/wakeup. Misuse that would hang or
// corrupt a real kernel aborts here with a message naming the kext function
// (recursive acquisition, unlocking a lock this thread does not hold, freeing
// a held lock, blocking while holding a spin lock, lck_mtx_assert failures).
//
// Threading: any thread; these are the kext's locks.
#include "host.hpp"
#include "kxs_abi.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kextsim {

namespace {

struct HostLock {
    int kind;
    std::mutex m;
    std::condition_variable cv;
    int readers = 0;
    bool writer = false;
    bool upgrading = false;  // a reader is waiting to become the writer
    int waiting_writers = 0; // writers get in before new readers
};

struct Hold {
    HostLock* lock;
    bool shared;
};

// The locks this thread holds, and how many of them are spin locks.
// Trivially destructible on purpose: kext code may still take locks on a
// thread after its thread_local destructors ran (atexit handlers unloading a
// kext), and constant-initialized, so it needs no construction either.
struct HeldLocks {
    static constexpr int kMax = 64;
    Hold items[kMax];
    int n;
    Hold* begin() { return items; }
    Hold* end() { return items + n; }
    void push_back(Hold h)
    {
        if (n == kMax)
            kxs_host_panic("a thread holds more than 64 kext locks at once");
        items[n++] = h;
    }
    void erase(Hold* h) { *h = items[--n]; } // order does not matter
};
thread_local HeldLocks t_held;
thread_local int t_spins = 0;

const char* kind_name(int kind)
{
    switch (kind) {
    case KXS_LOCK_MTX: return "lck_mtx";
    case KXS_LOCK_RW: return "lck_rw";
    default: return "lck_spin";
    }
}

// "in <symbol>+0x12 (<image>)" for the kext code that called the KPI. Kexts
// are built with hidden symbols, so usually only the image offset is known:
// "at <image>+0x1234 (addr2line -f -e <image> 0x1234)".
std::string site(const void* caller)
{
    Dl_info info{};
    if (caller == nullptr || ::dladdr(caller, &info) == 0)
        return "at an unknown site";
    const auto at = reinterpret_cast<std::uintptr_t>(caller);
    char buf[64];
    if (info.dli_sname != nullptr && info.dli_saddr != nullptr) {
        std::snprintf(buf, sizeof buf, "+0x%zx",
                      static_cast<std::size_t>(at - reinterpret_cast<std::uintptr_t>(info.dli_saddr)));
        return std::string("in ") + info.dli_sname + buf + " (" + (info.dli_fname ? info.dli_fname : "?") + ")";
    }
    const std::string image = info.dli_fname ? info.dli_fname : "?";
    std::snprintf(buf, sizeof buf, "0x%zx",
                  static_cast<std::size_t>(at - reinterpret_cast<std::uintptr_t>(info.dli_fbase)));
    return "at " + image + "+" + buf + " (addr2line -f -C -e " + image + " " + buf + ")";
}

[[noreturn]] void misuse(const HostLock* l, const std::string& what, const void* caller)
{
    const std::string msg = std::string(kind_name(l ? l->kind : KXS_LOCK_MTX)) + ": " + what + " " + site(caller);
    kxs_host_panic(msg.c_str());
}

Hold* find_hold(HostLock* l)
{
    return std::find_if(t_held.begin(), t_held.end(), [l](const Hold& h) { return h.lock == l; });
}

void note_acquired(HostLock* l, bool shared)
{
    t_held.push_back({l, shared});
    if (l->kind == KXS_LOCK_SPIN)
        ++t_spins;
}

void check_may_block(const HostLock* l, const char* what, const void* caller)
{
    if (t_spins > 0)
        misuse(l, std::string(what) + " may block, but this thread holds a spin lock", caller);
}

} // namespace

bool holding_spin_lock()
{
    return t_spins > 0;
}

std::string code_site(const void* addr)
{
    return site(addr);
}

} // namespace kextsim

using kextsim::HostLock;

extern "C" {

void* kxs_host_lock_new(int kind)
{
    auto* l = new HostLock;
    l->kind = kind;
    return l;
}

void kxs_host_lock_free(void* lock, const void* caller)
{
    auto* l = static_cast<HostLock*>(lock);
    {
        std::lock_guard g(l->m);
        if (l->writer || l->readers != 0 || l->upgrading)
            kextsim::misuse(l, "freed while held", caller);
    }
    delete l;
}

void kxs_host_lock(void* lock, int shared, const void* caller)
{
    auto* l = static_cast<HostLock*>(lock);
    if (auto h = kextsim::find_hold(l); h != kextsim::t_held.end())
        kextsim::misuse(l,
                        std::string("recursive acquisition (this thread already holds it ") +
                            (h->shared ? "shared" : "exclusive") + ")",
                        caller);
    if (l->kind != KXS_LOCK_SPIN)
        kextsim::check_may_block(l, "taking a blocking lock", caller);
    std::unique_lock g(l->m);
    if (shared) {
        l->cv.wait(g, [l] { return !l->writer && !l->upgrading && l->waiting_writers == 0; });
        ++l->readers;
    } else {
        ++l->waiting_writers;
        l->cv.wait(g, [l] { return !l->writer && l->readers == 0 && !l->upgrading; });
        --l->waiting_writers;
        l->writer = true;
    }
    g.unlock();
    kextsim::note_acquired(l, shared != 0);
}

int kxs_host_try_lock(void* lock, int shared, const void* caller)
{
    auto* l = static_cast<HostLock*>(lock);
    if (kextsim::find_hold(l) != kextsim::t_held.end())
        kextsim::misuse(l, "try-lock of a lock this thread already holds", caller);
    std::unique_lock g(l->m);
    if (shared) {
        if (l->writer || l->upgrading || l->waiting_writers != 0)
            return 0;
        ++l->readers;
    } else {
        if (l->writer || l->readers != 0 || l->upgrading)
            return 0;
        l->writer = true;
    }
    g.unlock();
    kextsim::note_acquired(l, shared != 0);
    return 1;
}

void kxs_host_unlock(void* lock, int shared, const void* caller)
{
    auto* l = static_cast<HostLock*>(lock);
    auto h = kextsim::find_hold(l);
    if (h == kextsim::t_held.end())
        kextsim::misuse(l, "unlock of a lock this thread does not hold", caller);
    if (h->shared != (shared != 0))
        kextsim::misuse(l,
                        std::string("unlocked ") + (shared ? "shared" : "exclusive") + " but held " +
                            (h->shared ? "shared" : "exclusive"),
                        caller);
    kextsim::t_held.erase(h);
    if (l->kind == KXS_LOCK_SPIN)
        --kextsim::t_spins;
    // Notify under the lock: once it is released the lock may be freed by
    // the thread that takes it next (XNU allows freeing a mutex right after
    // another thread's unlock).
    std::lock_guard g(l->m);
    if (shared)
        --l->readers;
    else
        l->writer = false;
    l->cv.notify_all();
}

int kxs_host_lock_upgrade(void* lock, const void* caller)
{
    auto* l = static_cast<HostLock*>(lock);
    auto h = kextsim::find_hold(l);
    if (h == kextsim::t_held.end() || !h->shared)
        kextsim::misuse(l, "shared-to-exclusive upgrade without holding it shared", caller);
    const bool forced = kextsim::host().faults.should_fail(kextsim::FaultSite::RwUpgrade);
    std::unique_lock g(l->m);
    --l->readers; // either way the shared hold ends here
    if (forced || l->upgrading) {
        // XNU: the upgrade fails when another upgrade is pending, and the
        // caller no longer holds the lock at all.
        l->cv.notify_all();
        g.unlock();
        kextsim::t_held.erase(h);
        return 0;
    }
    l->upgrading = true;
    l->cv.wait(g, [l] { return l->readers == 0 && !l->writer; });
    l->upgrading = false;
    l->writer = true;
    h->shared = false;
    return 1;
}

void kxs_host_lock_downgrade(void* lock, const void* caller)
{
    auto* l = static_cast<HostLock*>(lock);
    auto h = kextsim::find_hold(l);
    if (h == kextsim::t_held.end() || h->shared)
        kextsim::misuse(l, "exclusive-to-shared downgrade without holding it exclusive", caller);
    {
        std::lock_guard g(l->m);
        l->writer = false;
        ++l->readers;
    }
    h->shared = true;
    l->cv.notify_all();
}

void kxs_host_lock_assert(void* lock, int owned, const void* caller)
{
    auto* l = static_cast<HostLock*>(lock);
    auto h = kextsim::find_hold(l);
    const bool held = h != kextsim::t_held.end() && !h->shared;
    if (owned && !held)
        kextsim::misuse(l, "lck_mtx_assert(LCK_MTX_ASSERT_OWNED) failed: not owned by this thread", caller);
    if (!owned && held)
        kextsim::misuse(l, "lck_mtx_assert(LCK_MTX_ASSERT_NOTOWNED) failed: owned by this thread", caller);
}

} // extern "C"

// ---- msleep / wakeup ----
// One wait queue for every channel: wakeups are rare (unload paths), so a
// per-channel table is not worth it. A sleeper waits until the wakeup count
// of its channel moves past the value it saw when it went to sleep.
namespace {
std::mutex g_sleep_m;
std::condition_variable g_sleep_cv;
std::map<void*, std::uint64_t> g_wakeups;
} // namespace

extern "C" int kxs_host_msleep(void* chan, void* mutex_lock, int64_t timeout_ns, int drop, const void* caller)
{
    auto* l = static_cast<HostLock*>(mutex_lock);
    kextsim::check_may_block(l, "msleep", caller);
    if (l != nullptr) {
        auto h = kextsim::find_hold(l);
        if (h == kextsim::t_held.end() || h->shared)
            kextsim::misuse(l, "msleep with a mutex this thread does not hold", caller);
    }
    std::unique_lock lock(g_sleep_m);
    const std::uint64_t seen = g_wakeups[chan];
    if (l != nullptr)
        kxs_host_unlock(l, 0, caller);
    auto woken = [&] { return g_wakeups[chan] != seen; };
    bool ok;
    if (timeout_ns < 0) {
        g_sleep_cv.wait(lock, woken);
        ok = true;
    } else {
        ok = g_sleep_cv.wait_for(lock, std::chrono::nanoseconds(timeout_ns), woken);
    }
    lock.unlock();
    if (l != nullptr && !drop)
        kxs_host_lock(l, 0, caller);
    return ok ? 1 : 0;
}

extern "C" void kxs_host_wakeup(void* chan)
{
    {
        std::lock_guard lock(g_sleep_m);
        ++g_wakeups[chan];
    }
    g_sleep_cv.notify_all();
}
