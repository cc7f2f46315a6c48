// The heartbeat: a thread call that posts KC_EV_HEARTBEAT (with the
// counters) every `heartbeat_interval` ms, re-armed from its own callback and
// rescheduled by a commit that changes the interval.
//
// Lifetime: thread_call_cancel_wait is not KPI (Private.exports), so stop
// cannot ask XNU to wait for a running beat, and a beat may be dispatched but
// not yet inside our code when stop runs. So g.hb.armed counts invocations
// that will run or are running: +1 when thread_call_enter_delayed makes the
// call pending (returns FALSE), -1 when thread_call_cancel removes one
// (returns TRUE) and -1 at the end of each beat, all under g.hb.mtx. Once
// g.hb.quiesced is set nothing re-arms; heartbeat_quiesce cancels and sleeps
// until hb_armed is 0, after which thread_call_free finds the call idle.
#include "kc_internal.h"

#include <kern/clock.h>
#include <libkern/libkern.h>
#include <sys/proc.h>

namespace kc {

namespace {

// Longest interval the tunable may ask for before clock_interval_to_deadline
// (a uint32_t interval) would overflow: about 49 days in milliseconds.
constexpr uint64_t kMaxIntervalMs = 0xffffffffull;

uint64_t interval_now(void)
{
    const uint64_t ms = g.hb.index == kNoIndex ? 0 : current_scalar(g.hb.index);
    return ms > kMaxIntervalMs ? kMaxIntervalMs : ms;
}

// Under g.hb.mtx: arms the call `ms` from now, or cancels it for 0.
void arm_locked(uint64_t ms)
{
    g.hb.interval_ms = ms;
    if (ms == 0) {
        if (thread_call_cancel(g.hb.call))
            --g.hb.armed;
        return;
    }
    uint64_t deadline = 0;
    clock_interval_to_deadline(static_cast<uint32_t>(ms), 1000 * 1000 /* ns per ms */, &deadline);
    if (!thread_call_enter_delayed(g.hb.call, deadline))
        ++g.hb.armed; // was not pending: one more invocation to come
}

// Under g.hb.mtx: this beat is over.
void beat_done_locked(void)
{
    if (--g.hb.armed == 0 && g.hb.quiesced)
        wakeup(&g.hb.armed);
}

// Uses the interval commits last set (g.hb.interval_ms, under g.hb.mtx), not
// the one read when the beat began: a commit that turns the heartbeat off or
// changes it while a beat runs must win over that beat's re-arm.
void beat(thread_call_param_t, thread_call_param_t)
{
    lck_mtx_lock(g.hb.mtx);
    const uint64_t ms = g.hb.interval_ms;
    if (g.hb.quiesced || ms == 0) {
        beat_done_locked();
        lck_mtx_unlock(g.hb.mtx);
        return;
    }
    lck_mtx_unlock(g.hb.mtx);

    const uint64_t generation = kc_generation();
    post_heartbeat(generation, static_cast<uint32_t>(ms));
    if (g.load.cfg->on_heartbeat != nullptr)
        g.load.cfg->on_heartbeat(generation);

    lck_mtx_lock(g.hb.mtx);
    if (!g.hb.quiesced && g.hb.interval_ms != 0)
        arm_locked(g.hb.interval_ms);
    beat_done_locked();
    lck_mtx_unlock(g.hb.mtx);
}

} // namespace

errno_t heartbeat_start(void)
{
    g.hb.index =
        g.load.cfg->heartbeat_interval ? find_tunable(g.load.cfg->heartbeat_interval, KC_TYPE_UINT64) : kNoIndex;
    if (g.hb.index == kNoIndex)
        return 0;
    // THREAD_CALL_OPTIONS_ONCE: a commit re-arming the call while a beat runs
    // must not start a second beat beside it.
    g.hb.call = thread_call_allocate_with_options(beat, nullptr, THREAD_CALL_PRIORITY_KERNEL, THREAD_CALL_OPTIONS_ONCE);
    return g.hb.call == nullptr ? ENOMEM : 0;
}

void heartbeat_schedule(void)
{
    if (g.hb.call == nullptr)
        return;
    // Read under g.hb.mtx (then g.snap.lock shared: a safe order), or an older
    // commit's read could re-arm with a stale interval after a newer one.
    lck_mtx_lock(g.hb.mtx);
    const uint64_t ms = interval_now();
    if (!g.hb.quiesced && (ms != g.hb.interval_ms || ms == 0))
        arm_locked(ms);
    lck_mtx_unlock(g.hb.mtx);
}

void heartbeat_quiesce(void)
{
    if (g.hb.call == nullptr)
        return;
    lck_mtx_lock(g.hb.mtx);
    g.hb.quiesced = true;
    if (thread_call_cancel(g.hb.call))
        --g.hb.armed;
    while (g.hb.armed != 0)
        msleep(&g.hb.armed, g.hb.mtx, 0, "kchbstop", nullptr);
    lck_mtx_unlock(g.hb.mtx);
}

void heartbeat_resume(void)
{
    if (g.hb.call == nullptr)
        return;
    lck_mtx_lock(g.hb.mtx);
    const uint64_t ms = interval_now();
    g.hb.quiesced = false;
    arm_locked(ms);
    lck_mtx_unlock(g.hb.mtx);
}

void heartbeat_free(void)
{
    if (g.hb.call == nullptr)
        return;
    // A beat that just woke heartbeat_quiesce still runs kext code (its
    // unlock's return, its epilogue) and thread_call_free does not wait for
    // it. Give it 20 ms to leave: this narrows the window, it cannot close it
    // (thread_call_cancel_wait is not KPI; Apple's samples do the same).
    timespec ts = {0, 20 * 1000 * 1000};
    msleep(&g.hb.call, nullptr, 0, "kchbexit", &ts);
    // Quiesced: nothing pending and nothing re-arms, so this cannot fail.
    if (!thread_call_free(g.hb.call))
        printf("kextconf: %s: heartbeat thread call still pending at stop; leaked\n", g.load.cfg->bundle_id);
    g.hb.call = nullptr;
}

} // namespace kc
