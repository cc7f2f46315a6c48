// kern_event posting: vendor code from the bundle id, per-load sequence
// numbers (a gap tells a listener it lost events), payloads within the
// portable 200-byte limit, the kext's rate limit and the overflow report.
//
// Context: kev_msg_post allocates with M_WAIT and takes the event socket
// list's rw lock (bsd/kern/kern_event.c), so it may block. Every caller here
// runs on a thread that may block and holds no library lock: kc_start and
// kc_stop (the kext's start/stop routines), control callbacks (XNU drops the
// socket lock around them and holds no ctl_mtx, bsd/kern/kern_control.c
// ctl_connect/ctl_disconnect/ctl_ctloutput), and the heartbeat thread call.
#include "kc_internal.h"

#include <kern/clock.h>
#include <libkern/libkern.h>
#include <string.h>
#include <sys/time.h>
extern "C" {
#include <sys/kern_event.h> // XNU's header has no extern "C" of its own
}

namespace kc {

namespace {

constexpr uint64_t kNsPerSec = 1000000000ull;

// Lifecycle events are exempt from the rate limit: one each per load, and a
// listener needs them to tell loads apart.
// Query-control client events have their own small budget (kQueryClientBudget
// a second): any local user can connect and disconnect in a loop, and that
// must neither use up the event_rate_limit budget (starving applied and
// changed events) nor, with no limit, flood listeners.
enum class Limit { kRated, kExempt, kQueryClient };
constexpr uint64_t kQueryClientBudget = 16;

uint64_t uptime_ns(void)
{
    uint64_t abs = 0, ns = 0;
    clock_get_uptime(&abs);
    absolutetime_to_nanoseconds(abs, &ns);
    return ns;
}

// Under post_mtx: records `n` lost events (their sequence numbers are
// already used).
void record_loss(uint32_t n, uint32_t reason)
{
    __atomic_add_fetch(&g.ev.lost_pending, n, __ATOMIC_RELAXED);
    g.ev.lost_reason = reason;
    g.ev.lost_total += n;
    count(g.counters.events_dropped, n);
}

bool kev_post(uint32_t code, const void *payload, uint32_t size)
{
    if (!g.ev.have_vendor)
        return false;
    kev_msg msg;
    memset(&msg, 0, sizeof msg); // the first zero-length vector ends the list
    msg.vendor_code = g.ev.vendor_code;
    msg.kev_class = KC_EVENT_CLASS;
    msg.kev_subclass = KC_EVENT_SUBCLASS;
    msg.event_code = code;
    msg.dv[0].data_length = size;
    msg.dv[0].data_ptr = const_cast<void *>(payload);
    return kev_msg_post(&msg) == 0;
}

// Posts one event whose payload starts with kc_event_hdr; fills the header.
// An event over the rate limit, or that kev_msg_post refuses, is lost: its
// sequence number stays used, and the next event that does go out is
// preceded by a KC_EV_OVERFLOW saying how many were lost and why.
void post_locked(uint32_t code, void *payload, uint32_t size, Limit limit);

// g.ev.post_mtx is held from taking a sequence number to kev_msg_post's return,
// so listeners receive events in sequence order (no false gaps between
// concurrent posters). kev_msg_post may block: post_mtx is a sleepable mutex
// that only posters take, never under another library lock.
void post(uint32_t code, void *payload, uint32_t size, Limit limit = Limit::kRated)
{
    lck_mtx_lock(g.ev.post_mtx);
    post_locked(code, payload, size, limit);
    lck_mtx_unlock(g.ev.post_mtx);
}

void post_locked(uint32_t code, void *payload, uint32_t size, Limit limit)
{
    static_assert(sizeof(kc_ev_overflow) <= KC_EVENT_PAYLOAD_MAX, "event payload limit");
    const uint64_t rate = __atomic_load_n(&g.ev.rate_limit, __ATOMIC_RELAXED);
    // Sampled under post_mtx: samples reach the rate window in order.
    const uint64_t now = rate == 0 && limit != Limit::kQueryClient ? 0 : uptime_ns();
    auto *hdr = static_cast<kc_event_hdr *>(payload);
    hdr->load_id = g.load.id;
    kc_ev_overflow ovf;
    memset(&ovf, 0, sizeof ovf);
    ovf.hdr.load_id = g.load.id;

    // Fast path, no lock: no rate limit and nothing lost to report. (A loss
    // recorded concurrently is reported with the next event instead.)
    if (rate == 0 && limit != Limit::kQueryClient && __atomic_load_n(&g.ev.lost_pending, __ATOMIC_RELAXED) == 0) {
        hdr->seq = __atomic_add_fetch(&g.ev.seq, 1, __ATOMIC_RELAXED);
        if (kev_post(code, payload, size))
            count(g.counters.events_posted);
        else
            record_loss(1, KC_OVF_POST_FAILED);
        return;
    }

    const bool allowed =
        limit == Limit::kExempt || (limit == Limit::kQueryClient ? g.ev.query_clients.allows(kQueryClientBudget, now)
                                                                 : g.ev.rated.allows(rate, now));
    if (!allowed) {
        hdr->seq = __atomic_add_fetch(&g.ev.seq, 1, __ATOMIC_RELAXED);
        record_loss(1, KC_OVF_RATE_LIMIT);
        return;
    }
    const uint32_t pending = __atomic_load_n(&g.ev.lost_pending, __ATOMIC_RELAXED);
    const bool report = pending != 0;
    if (report) {
        ovf.hdr.seq = __atomic_add_fetch(&g.ev.seq, 1, __ATOMIC_RELAXED);
        ovf.lost = pending;
        ovf.reason = g.ev.lost_reason;
        ovf.lost_total = g.ev.lost_total;
        __atomic_sub_fetch(&g.ev.lost_pending, pending, __ATOMIC_RELAXED);
    }
    hdr->seq = __atomic_add_fetch(&g.ev.seq, 1, __ATOMIC_RELAXED);

    if (report) {
        if (kev_post(KC_EV_OVERFLOW, &ovf, sizeof ovf)) {
            count(g.counters.events_posted);
        } else {
            // Not reported after all: report these again, and the overflow
            // event itself, with the next one.
            __atomic_add_fetch(&g.ev.lost_pending, ovf.lost, __ATOMIC_RELAXED);
            record_loss(1, KC_OVF_POST_FAILED);
        }
    }
    if (kev_post(code, payload, size))
        count(g.counters.events_posted);
    else
        record_loss(1, KC_OVF_POST_FAILED);
}

} // namespace

bool RateWindow::allows(uint64_t limit, uint64_t now_ns)
{
    if (limit == 0)
        return true;
    // now_ns < start (an older sample) is the same window, not a wrap.
    if (now_ns >= start_ns && now_ns - start_ns >= kNsPerSec) {
        start_ns = now_ns;
        count = 0;
    }
    if (count >= limit)
        return false;
    ++count;
    return true;
}

errno_t events_start(void)
{
    timespec ts;
    nanotime(&ts);
    g.load.id = static_cast<uint32_t>(ts.tv_sec) ^ static_cast<uint32_t>(ts.tv_nsec);
    g.ev.seq = 0;
    g.ev.rate_index =
        g.load.cfg->event_rate_limit ? find_tunable(g.load.cfg->event_rate_limit, KC_TYPE_UINT64) : kNoIndex;
    events_config_changed();
    const errno_t err = kev_vendor_code_find(g.load.cfg->bundle_id, &g.ev.vendor_code);
    g.ev.have_vendor = err == 0;
    return err;
}

void events_config_changed(void)
{
    // Read and store under post_mtx, or a commit that read the old value
    // could store it after a later commit stored the new one. (post_mtx,
    // then snap.lock shared: nothing takes post_mtx while holding it.)
    lck_mtx_lock(g.ev.post_mtx);
    const uint64_t rate = g.ev.rate_index == kNoIndex ? 0 : current_scalar(g.ev.rate_index);
    __atomic_store_n(&g.ev.rate_limit, rate, __ATOMIC_RELAXED);
    lck_mtx_unlock(g.ev.post_mtx);
}

void post_started(void)
{
    kc_ev_started ev;
    memset(&ev, 0, sizeof ev);
    ev.proto_version = KC_PROTO_VERSION;
    ev.tunable_count = g.load.cfg->count;
    ev.generation = g.snap.current->generation;
    strlcpy(ev.kext_version, g.load.cfg->version, sizeof ev.kext_version);
    // Ready before STARTED goes out: a listener that connects as soon as it
    // sees STARTED must find the kext serving, not "still starting". STARTED
    // keeps sequence 1: a client's own events wait here for post_mtx.
    lck_mtx_lock(g.ev.post_mtx);
    lck_mtx_lock(g.ctl.mtx);
    set_phase(Phase::kReady);
    lck_mtx_unlock(g.ctl.mtx);
    post_locked(KC_EV_STARTED, &ev, sizeof ev, Limit::kExempt);
    lck_mtx_unlock(g.ev.post_mtx);
}

void post_stopping(uint64_t generation)
{
    kc_ev_stopping ev;
    memset(&ev, 0, sizeof ev);
    ev.generation = generation;
    post(KC_EV_STOPPING, &ev, sizeof ev, Limit::kExempt);
}

void post_applied(uint64_t generation, uint64_t hash, uint32_t changed)
{
    kc_ev_applied ev;
    memset(&ev, 0, sizeof ev);
    ev.generation = generation;
    // Anyone may listen to kern_events, and the hash covers hidden tunables'
    // values: with any hidden tunable the event carries 0 (the admin control
    // reads the hash, as control.cpp's query blanking does).
    ev.config_hash = g.load.has_hidden ? 0 : hash;
    ev.changed = changed;
    post(KC_EV_APPLIED, &ev, sizeof ev);
}

uint8_t *changes_take(Client *c)
{
    const uint32_t size = (g.load.cfg->count + 7) / 8;
    lck_mtx_lock(g.ctl.mtx);
    uint8_t *bits = c->bits_busy ? nullptr : c->changed_bits;
    if (bits != nullptr)
        c->bits_busy = true; // only while the client's own bitmap is out
    lck_mtx_unlock(g.ctl.mtx);
    if (bits == nullptr)
        bits = static_cast<uint8_t *>(OSMalloc(size, g.load.tag));
    if (bits != nullptr)
        memset(bits, 0, size);
    return bits;
}

void changes_give(Client *c, uint8_t *bits)
{
    if (bits == nullptr)
        return; // nothing was taken: another commit may own the bitmap
    if (bits != c->changed_bits) {
        OSFree(bits, (g.load.cfg->count + 7) / 8, g.load.tag);
        return;
    }
    lck_mtx_lock(g.ctl.mtx);
    c->bits_busy = false;
    lck_mtx_unlock(g.ctl.mtx);
}

void post_tunables_changed(uint64_t generation, const uint8_t *changed_bits, uint32_t changed)
{
    if (changed_bits == nullptr) {
        // Keep the sequence honest: these events existed and were lost.
        lck_mtx_lock(g.ev.post_mtx);
        __atomic_add_fetch(&g.ev.seq, changed, __ATOMIC_RELAXED);
        record_loss(changed, KC_OVF_POST_FAILED);
        lck_mtx_unlock(g.ev.post_mtx);
        return;
    }
    for (uint32_t i = 0; i < g.load.cfg->count; ++i) {
        if ((changed_bits[i / 8] & (1u << (i % 8))) == 0)
            continue;
        kc_ev_tunable_changed ev;
        memset(&ev, 0, sizeof ev);
        ev.generation = generation;
        ev.index = i;
        // Anyone may listen to kern_events: a hidden tunable stays nameless.
        if ((g.load.cfg->table[i].flags & KC_TF_HIDDEN) == 0)
            strlcpy(ev.name, g.load.cfg->table[i].name, sizeof ev.name);
        post(KC_EV_TUNABLE_CHANGED, &ev, sizeof ev);
    }
}

void post_client(uint32_t code, const Client *c, uint32_t clients, int32_t pid, uint32_t uid)
{
    kc_ev_client ev;
    memset(&ev, 0, sizeof ev);
    ev.pid = pid;
    ev.uid = uid;
    ev.unit = c->unit;
    ev.privileged = c->privileged ? 1 : 0;
    ev.clients = clients;
    post(code, &ev, sizeof ev, c->privileged ? Limit::kRated : Limit::kQueryClient);
}

void post_heartbeat(uint64_t generation, uint32_t interval_ms)
{
    kc_counters snap;
    kc_get_counters(&snap);
    kc_ev_heartbeat ev;
    memset(&ev, 0, sizeof ev);
    ev.generation = generation;
    ev.requests = snap.requests;
    ev.rejections = snap.rejections;
    ev.commits = snap.commits;
    ev.events_posted = snap.events_posted;
    ev.events_dropped = snap.events_dropped;
    ev.clients = snap.clients;
    ev.interval_ms = interval_ms;
    post(KC_EV_HEARTBEAT, &ev, sizeof ev);
}

} // namespace kc
