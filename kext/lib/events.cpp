// kern_event posting: vendor code from the bundle id, per-load sequence
// numbers (a gap tells a listener it lost events), payloads within the
// portable 200-byte limit.
#include "kc_internal.h"

#include <libkern/OSAtomic.h>
#include <string.h>
#include <sys/time.h>
extern "C" {
#include <sys/kern_event.h> // XNU's header has no extern "C" of its own
}

namespace kc {

namespace {

// Posts one event whose payload starts with kc_event_hdr; fills the header.
void post(uint32_t code, void *payload, uint32_t size)
{
    auto *hdr = static_cast<kc_event_hdr *>(payload);
    hdr->seq = static_cast<uint32_t>(OSIncrementAtomic(reinterpret_cast<volatile SInt32 *>(&g.seq)) + 1);
    hdr->load_id = g.load_id;
    if (!g.have_vendor) {
        OSAddAtomic64(1, reinterpret_cast<volatile SInt64 *>(&g.events_dropped));
        return;
    }
    kev_msg msg;
    memset(&msg, 0, sizeof msg); // the first zero-length vector ends the list
    msg.vendor_code = g.vendor_code;
    msg.kev_class = KC_EVENT_CLASS;
    msg.kev_subclass = KC_EVENT_SUBCLASS;
    msg.event_code = code;
    msg.dv[0].data_length = size;
    msg.dv[0].data_ptr = payload;
    if (kev_msg_post(&msg) != 0)
        OSAddAtomic64(1, reinterpret_cast<volatile SInt64 *>(&g.events_dropped));
}

} // namespace

errno_t events_start(void)
{
    timespec ts;
    nanotime(&ts);
    g.load_id = static_cast<uint32_t>(ts.tv_sec) ^ static_cast<uint32_t>(ts.tv_nsec);
    g.seq = 0;
    const errno_t err = kev_vendor_code_find(g.cfg->bundle_id, &g.vendor_code);
    g.have_vendor = err == 0;
    return err;
}

void post_started(void)
{
    kc_ev_started ev;
    memset(&ev, 0, sizeof ev);
    ev.proto_version = KC_PROTO_VERSION;
    ev.tunable_count = g.cfg->count;
    ev.generation = g.current->generation;
    strlcpy(ev.kext_version, g.cfg->version, sizeof ev.kext_version);
    post(KC_EV_STARTED, &ev, sizeof ev);
}

void post_stopping(uint64_t generation)
{
    kc_ev_stopping ev;
    memset(&ev, 0, sizeof ev);
    ev.generation = generation;
    post(KC_EV_STOPPING, &ev, sizeof ev);
}

void post_applied(uint64_t generation, uint64_t hash, uint32_t changed)
{
    kc_ev_applied ev;
    memset(&ev, 0, sizeof ev);
    ev.generation = generation;
    ev.config_hash = hash;
    ev.changed = changed;
    post(KC_EV_APPLIED, &ev, sizeof ev);
}

} // namespace kc
