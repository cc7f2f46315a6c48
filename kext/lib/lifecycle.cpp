// kc_start and kc_stop: the library's state built and torn down, the
// controls registered and deregistered, and the lifecycle (Phase) between.
#include "kc_internal.h"

#include <libkern/libkern.h>
#include <string.h>
#include <sys/errno.h>
#include <sys/proc.h> // msleep

namespace kc {

Globals g;

namespace {

void teardown(void)
{
    sysctl_mirror_unregister();
    heartbeat_free();
    snapshot_free(g.snap.current);
    g.snap.current = nullptr;
    if (g.snap.lock != nullptr)
        lck_rw_free(g.snap.lock, g.load.grp);
    if (g.ctl.mtx != nullptr)
        lck_mtx_free(g.ctl.mtx, g.load.grp);
    if (g.ev.post_mtx != nullptr)
        lck_mtx_free(g.ev.post_mtx, g.load.grp);
    if (g.snap.commit_mtx != nullptr)
        lck_mtx_free(g.snap.commit_mtx, g.load.grp);
    if (g.hb.mtx != nullptr)
        lck_mtx_free(g.hb.mtx, g.load.grp);
    if (g.load.grp != nullptr)
        lck_grp_free(g.load.grp);
    if (g.load.tag != nullptr)
        OSMalloc_Tagfree(g.load.tag);
    memset(&g, 0, sizeof g);
}

// A table error is the kext author's bug: say which tunable broke which
// rule, in the kernel log, before refusing to start.
void log_table_error(const kc_kext_config *config, const TableError &e)
{
    const char *kext = config != nullptr && config->bundle_id != nullptr ? config->bundle_id : "(no bundle id)";
    if (e.index == kNoIndex) {
        printf("kextconf: %s: not starting: %s\n", kext, e.rule);
        return;
    }
    const char *name = config->table[e.index].name;
    printf("kextconf: %s: not starting: tunable \"%.*s\" (table row %u): %s\n", kext, name ? KC_NAME_MAX : 0,
           name ? name : "", e.index, e.rule);
}

// Locks and the default snapshot; ENOMEM (state torn down) if any is missing.
errno_t alloc_state(const kc_kext_config *config, uint32_t snap_size)
{
    memset(&g, 0, sizeof g);
    g.load.cfg = config;
    g.snap.size = snap_size;
    g.load.tag = OSMalloc_Tagalloc(config->bundle_id, OSMT_DEFAULT);
    g.load.grp = lck_grp_alloc_init(config->bundle_id, LCK_GRP_ATTR_NULL);
    if (g.load.tag == nullptr || g.load.grp == nullptr) {
        teardown();
        return ENOMEM;
    }
    g.snap.lock = lck_rw_alloc_init(g.load.grp, LCK_ATTR_NULL);
    g.ctl.mtx = lck_mtx_alloc_init(g.load.grp, LCK_ATTR_NULL);
    g.ev.post_mtx = lck_mtx_alloc_init(g.load.grp, LCK_ATTR_NULL);
    g.snap.commit_mtx = lck_mtx_alloc_init(g.load.grp, LCK_ATTR_NULL);
    g.hb.mtx = lck_mtx_alloc_init(g.load.grp, LCK_ATTR_NULL);
    const bool locks = g.snap.lock && g.ctl.mtx && g.ev.post_mtx && g.snap.commit_mtx && g.hb.mtx;
    g.snap.current = locks ? snapshot_defaults() : nullptr;
    if (g.snap.current == nullptr) {
        teardown();
        return ENOMEM;
    }
    for (uint32_t i = 0; i < config->count; ++i)
        g.load.has_hidden |= (config->table[i].flags & KC_TF_HIDDEN) != 0;
    schema_hash_compute();
    return 0;
}

// Under g.ctl.mtx: a refused stop serves again.
void back_to_ready(void)
{
    lck_mtx_lock(g.ctl.mtx);
    set_phase(Phase::kReady);
    lck_mtx_unlock(g.ctl.mtx);
}

} // namespace

} // namespace kc

using kc::g;
using kc::Phase;

extern "C" errno_t kc_start(const struct kc_kext_config *config)
{
    uint32_t snap_size = 0;
    kc::TableError why = {kc::kNoIndex, ""};
    if (errno_t err = kc::check_table(config, &snap_size, &why); err != 0) {
        kc::log_table_error(config, why);
        return err;
    }
    if (errno_t err = kc::alloc_state(config, snap_size); err != 0)
        return err;
    // Without a vendor code events are counted as dropped; not fatal.
    kc::events_start();
    errno_t err = kc::heartbeat_start();
    if (err == 0)
        err = kc::sysctl_mirror_register();
    if (err != 0) {
        kc::teardown();
        return err;
    }
    if (err = kc::controls_register(); err != 0) {
        // A control that could not be deregistered still points at our
        // callbacks: keep the state it needs (connections stay refused).
        if (!g.ctl.admin_registered)
            kc::teardown();
        return err;
    }
    // Serving from here: post_started makes the library ready as STARTED
    // goes out with sequence 1, ahead of any client's event.
    kc::post_started();
    kc::heartbeat_schedule();
    return 0;
}

extern "C" errno_t kc_stop(void)
{
    if (g.load.cfg == nullptr)
        return 0;
    // Refuse new connections first so no client can slip in between the
    // check and the deregistration.
    lck_mtx_lock(g.ctl.mtx);
    // A list view still held would be freed into a destroyed tag.
    const bool busy = g.ctl.clients != 0 || __atomic_load_n(&g.life.views, __ATOMIC_SEQ_CST) != 0;
    if (!busy)
        kc::set_phase(Phase::kStopping);
    lck_mtx_unlock(g.ctl.mtx);
    if (busy)
        return EBUSY;
    // No beat runs or is pending after this; a refused stop re-arms it.
    kc::heartbeat_quiesce();
    // Readers keep serving real values until both controls are gone: a
    // refused deregistration (a socket still on a control) must not leave
    // kc_get_* failing open with defaults-of-type.
    if (errno_t err = kc::controls_deregister(); err != 0) {
        kc::back_to_ready();
        kc::heartbeat_resume();
        return err;
    }
    // In-kernel consumers must be quiesced by the kext before kc_stop; from
    // here on the readers return defaults-of-type (0, false, ""). Wait for
    // readers already past the ready check to leave.
    kc::set_phase(Phase::kStopped);
    while (__atomic_load_n(&g.life.readers, __ATOMIC_SEQ_CST) != 0) {
        timespec ts = {0, 1000 * 1000}; // 1 ms
        msleep(&g.life.readers, nullptr, 0, "kcreaders", &ts);
    }
    if (__atomic_load_n(&g.life.views, __ATOMIC_SEQ_CST) != 0) {
        // A consumer acquired a view during kc_stop (the kext broke its own
        // quiescing): serve again and refuse the stop.
        const errno_t err = kc::controls_register();
        kc::back_to_ready();
        kc::heartbeat_resume();
        return err != 0 ? err : EBUSY;
    }
    kc::sysctl_mirror_unregister(); // waits for sysctl handlers in flight
    kc::heartbeat_free();
    kc::post_stopping(g.snap.current->generation);
    kc::teardown();
    return 0;
}
