// kc_start / kc_stop and the readers for in-kernel consumers.
#include "kc_internal.h"

#include <libkern/libkern.h>
#include <string.h>
#include <sys/errno.h>
#include <sys/proc.h> // msleep

namespace kc {

Globals g;

namespace {

bool valid_name(const char *name)
{
    const size_t n = strnlen(name, KC_NAME_MAX);
    if (n == 0 || n == KC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; ++i) {
        const char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
            return false;
    }
    return true;
}

// Number of '|'-separated names in an enum's name list.
uint32_t enum_count(const char *names)
{
    uint32_t n = 1;
    for (const char *p = names; *p != '\0'; ++p)
        n += *p == '|';
    return n;
}

// Bounds and defaults must be consistent, or every commit would fail
// validation and the daemon's idea of the default would differ from ours.
errno_t check_bounds(const kc_tunable_def &d)
{
    switch (d.type) {
    case KC_TYPE_BOOL: return d.def.u <= 1 ? 0 : EINVAL;
    case KC_TYPE_INT64: return d.min.i <= d.max.i && d.def.i >= d.min.i && d.def.i <= d.max.i ? 0 : EINVAL;
    case KC_TYPE_UINT64: return d.min.u <= d.max.u && d.def.u >= d.min.u && d.def.u <= d.max.u ? 0 : EINVAL;
    case KC_TYPE_ENUM:
        if (d.enum_names == nullptr || strnlen(d.enum_names, KC_ENUM_NAMES_MAX) >= KC_ENUM_NAMES_MAX)
            return EINVAL;
        return d.min.i == 0 && d.max.i + 1 == static_cast<int64_t>(enum_count(d.enum_names)) && d.def.i >= 0 &&
                       d.def.i <= d.max.i
                   ? 0
                   : EINVAL;
    case KC_TYPE_STRING: {
        const size_t n = d.def_string ? strnlen(d.def_string, KC_DEFAULT_STR_MAX) : 0;
        return n < KC_DEFAULT_STR_MAX && n <= d.max_count ? 0 : EINVAL;
    }
    // Lists start empty: no default to check, only element bounds.
    case KC_TYPE_INT64_LIST: return d.min.i <= d.max.i && d.def.i == 0 && d.def_string == nullptr ? 0 : EINVAL;
    case KC_TYPE_STRING_LIST:
        // An element and its NUL must fit one option next to the header,
        // or it could never be set (lists are split between elements only).
        return d.min.u == 0 && d.max.u >= 1 && d.max.u < KC_OPT_MAX_LEN - sizeof(kc_value_hdr) && d.def.i == 0 &&
                       d.def_string == nullptr
                   ? 0
                   : EINVAL;
    default: return ENOTSUP;
    }
}

// A table error is the kext author's bug: refuse to start rather than serve
// a contract the daemon cannot trust.
errno_t check_table(const kc_kext_config *cfg, uint32_t *snap_size)
{
    if (cfg == nullptr || cfg->bundle_id == nullptr || cfg->version == nullptr || cfg->table == nullptr ||
        cfg->count == 0)
        return EINVAL;
    if (strnlen(cfg->bundle_id, KC_BUNDLE_ID_MAX) >= KC_BUNDLE_ID_MAX - (sizeof KC_QUERY_SUFFIX - 1))
        return EINVAL;
    uint64_t size = sizeof(Snapshot) + uint64_t{cfg->count} * sizeof(Slot);
    for (uint32_t i = 0; i < cfg->count; ++i) {
        const kc_tunable_def &d = cfg->table[i];
        if (d.name == nullptr || !valid_name(d.name) || d.help == nullptr || (d.flags & ~KC_TF__ALL) != 0)
            return EINVAL;
        if (d.unit == nullptr || strnlen(d.unit, KC_UNIT_MAX) >= KC_UNIT_MAX ||
            strnlen(d.help, KC_HELP_MAX) >= KC_HELP_MAX)
            return EINVAL;
        for (uint32_t j = 0; j < i; ++j)
            if (strcmp(cfg->table[j].name, d.name) == 0)
                return EEXIST;
        switch (d.type) {
        case KC_TYPE_BOOL:
        case KC_TYPE_INT64:
        case KC_TYPE_UINT64:
        case KC_TYPE_ENUM: break;
        case KC_TYPE_STRING:
            if (d.max_count == 0 || d.max_count > KC_OPT_MAX_LEN - sizeof(kc_value_hdr))
                return EINVAL;
            size += d.max_count + 1;
            break;
        case KC_TYPE_INT64_LIST:
        case KC_TYPE_STRING_LIST:
            if (d.max_count == 0 || (d.type == KC_TYPE_STRING_LIST && d.max.u >= KC_OPT_MAX_LEN) ||
                list_max_bytes(d) > kMaxListBytes)
                return EINVAL;
            break;
        default: return ENOTSUP;
        }
        if (errno_t err = check_bounds(d); err != 0)
            return err;
    }
    if (size > 0x7fffffffu)
        return EINVAL;
    // The tunables the library consumes itself must exist and be uint64.
    const char *const consumed[] = {cfg->event_rate_limit, cfg->heartbeat_interval};
    for (const char *name : consumed) {
        if (name == nullptr)
            continue;
        bool found = false;
        for (uint32_t i = 0; i < cfg->count && !found; ++i)
            found = strcmp(cfg->table[i].name, name) == 0 && cfg->table[i].type == KC_TYPE_UINT64;
        if (!found)
            return EINVAL;
    }
    *snap_size = static_cast<uint32_t>(size);
    return 0;
}

void teardown(void)
{
    sysctl_mirror_unregister();
    heartbeat_free();
    snapshot_free(g.current);
    g.current = nullptr;
    if (g.snap_lock != nullptr)
        lck_rw_free(g.snap_lock, g.grp);
    if (g.mtx != nullptr)
        lck_mtx_free(g.mtx, g.grp);
    if (g.post_mtx != nullptr)
        lck_mtx_free(g.post_mtx, g.grp);
    if (g.commit_mtx != nullptr)
        lck_mtx_free(g.commit_mtx, g.grp);
    if (g.grp != nullptr)
        lck_grp_free(g.grp);
    if (g.tag != nullptr)
        OSMalloc_Tagfree(g.tag);
    memset(&g, 0, sizeof g);
}

} // namespace

uint64_t current_scalar(uint32_t index)
{
    lck_rw_lock_shared(g.snap_lock);
    const uint64_t v = slots(g.current)[index].v.u;
    lck_rw_unlock_shared(g.snap_lock);
    return v;
}

uint32_t find_tunable(const char *name, uint32_t type)
{
    for (uint32_t i = 0; i < g.cfg->count; ++i)
        if (g.cfg->table[i].type == type && strcmp(g.cfg->table[i].name, name) == 0)
            return i;
    return kNoIndex;
}

} // namespace kc

using kc::g;

extern "C" void kc_get_counters(struct kc_counters *out)
{
    memset(out, 0, sizeof *out);
    if (g.cfg == nullptr)
        return;
    const kc::Counters &c = g.counters;
    out->requests = __atomic_load_n(&c.requests, __ATOMIC_RELAXED);
    out->rejections = __atomic_load_n(&c.rejections, __ATOMIC_RELAXED);
    out->commits = __atomic_load_n(&c.commits, __ATOMIC_RELAXED);
    out->aborts = __atomic_load_n(&c.aborts, __ATOMIC_RELAXED);
    out->events_posted = __atomic_load_n(&c.events_posted, __ATOMIC_RELAXED);
    out->events_dropped = __atomic_load_n(&c.events_dropped, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < KC_COUNTER_REASONS; ++i)
        out->rejected[i] = __atomic_load_n(&c.rejected[i], __ATOMIC_RELAXED);
    lck_mtx_lock(g.mtx);
    out->clients = g.clients;
    out->clients_peak = g.clients_peak;
    lck_mtx_unlock(g.mtx);
}

extern "C" errno_t kc_start(const struct kc_kext_config *config)
{
    uint32_t snap_size = 0;
    if (errno_t err = kc::check_table(config, &snap_size); err != 0)
        return err;
    memset(&g, 0, sizeof g);
    g.cfg = config;
    g.snap_size = snap_size;
    g.tag = OSMalloc_Tagalloc(config->bundle_id, OSMT_DEFAULT);
    g.grp = lck_grp_alloc_init(config->bundle_id, LCK_GRP_ATTR_NULL);
    if (g.tag == nullptr || g.grp == nullptr) {
        kc::teardown();
        return ENOMEM;
    }
    g.snap_lock = lck_rw_alloc_init(g.grp, LCK_ATTR_NULL);
    g.mtx = lck_mtx_alloc_init(g.grp, LCK_ATTR_NULL);
    g.post_mtx = lck_mtx_alloc_init(g.grp, LCK_ATTR_NULL);
    g.commit_mtx = lck_mtx_alloc_init(g.grp, LCK_ATTR_NULL);
    g.current = g.snap_lock && g.mtx && g.post_mtx && g.commit_mtx ? kc::snapshot_defaults() : nullptr;
    if (g.current == nullptr) {
        kc::teardown();
        return ENOMEM;
    }
    for (uint32_t i = 0; i < config->count; ++i)
        g.has_hidden |= (config->table[i].flags & KC_TF_HIDDEN) != 0;
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
        if (!g.admin_registered)
            kc::teardown();
        return err;
    }
    // STARTED first: it must take sequence 1, ahead of any client's event
    // (connects are refused until ready). post_started needs only g.current.
    kc::post_started();
    __atomic_store_n(&g.ready, true, __ATOMIC_SEQ_CST);
    kc::heartbeat_schedule();
    return 0;
}

extern "C" errno_t kc_stop(void)
{
    if (g.cfg == nullptr)
        return 0;
    // Refuse new connections first so no client can slip in between the
    // check and the deregistration.
    lck_mtx_lock(g.mtx);
    // A list view still held would be freed into a destroyed tag.
    const bool busy = g.clients != 0 || __atomic_load_n(&g.views, __ATOMIC_SEQ_CST) != 0;
    g.stopping = !busy;
    lck_mtx_unlock(g.mtx);
    if (busy)
        return EBUSY;
    // No beat runs or is pending after this; a refused stop re-arms it.
    kc::heartbeat_quiesce();
    // Readers keep serving real values until both controls are gone: a
    // refused deregistration (a socket still on a control) must not leave
    // kc_get_* failing open with defaults-of-type.
    if (errno_t err = kc::controls_deregister(); err != 0) {
        lck_mtx_lock(g.mtx);
        g.stopping = false;
        lck_mtx_unlock(g.mtx);
        kc::heartbeat_resume();
        return err;
    }
    // In-kernel consumers must be quiesced by the kext before kc_stop; from
    // here on the readers return defaults-of-type (0, false, ""). Wait for
    // readers already past the ready check to leave.
    __atomic_store_n(&g.ready, false, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&g.readers, __ATOMIC_SEQ_CST) != 0) {
        timespec ts = {0, 1000 * 1000}; // 1 ms
        msleep(&g.readers, nullptr, 0, "kcreaders", &ts);
    }
    if (__atomic_load_n(&g.views, __ATOMIC_SEQ_CST) != 0) {
        // A consumer acquired a view during kc_stop (the kext broke its own
        // quiescing): serve again and refuse the stop.
        const errno_t err = kc::controls_register();
        __atomic_store_n(&g.ready, true, __ATOMIC_SEQ_CST);
        lck_mtx_lock(g.mtx);
        g.stopping = false;
        lck_mtx_unlock(g.mtx);
        kc::heartbeat_resume();
        return err != 0 ? err : EBUSY;
    }
    kc::sysctl_mirror_unregister(); // waits for sysctl handlers in flight
    kc::heartbeat_free();
    kc::post_stopping(g.current->generation);
    kc::teardown();
    return 0;
}

namespace {
bool read_slot(uint32_t index, uint32_t type, kc_scalar *out)
{
    if (!kc::reader_enter())
        return false;
    const bool ok = index < g.cfg->count && g.cfg->table[index].type == type;
    if (ok) {
        lck_rw_lock_shared(g.snap_lock);
        *out = kc::slots(g.current)[index].v;
        lck_rw_unlock_shared(g.snap_lock);
    }
    kc::reader_exit();
    return ok;
}
} // namespace

extern "C" int64_t kc_get_int64(uint32_t index)
{
    kc_scalar v = {0};
    return read_slot(index, KC_TYPE_INT64, &v) ? v.i : 0;
}

extern "C" uint64_t kc_get_uint64(uint32_t index)
{
    kc_scalar v = {0};
    return read_slot(index, KC_TYPE_UINT64, &v) ? v.u : 0;
}

extern "C" bool kc_get_bool(uint32_t index)
{
    kc_scalar v = {0};
    return read_slot(index, KC_TYPE_BOOL, &v) && v.i != 0;
}

extern "C" uint32_t kc_get_enum(uint32_t index)
{
    kc_scalar v = {0};
    return read_slot(index, KC_TYPE_ENUM, &v) ? static_cast<uint32_t>(v.i) : 0;
}

extern "C" size_t kc_get_string(uint32_t index, char *buf, size_t size)
{
    if (!kc::reader_enter()) {
        if (size)
            buf[0] = '\0';
        return 0;
    }
    if (index >= g.cfg->count || g.cfg->table[index].type != KC_TYPE_STRING) {
        kc::reader_exit();
        if (size)
            buf[0] = '\0';
        return 0;
    }
    lck_rw_lock_shared(g.snap_lock);
    const kc::Slot &slot = kc::slots(g.current)[index];
    const size_t len = slot.len;
    if (size) {
        const size_t n = len < size - 1 ? len : size - 1;
        memcpy(buf, kc::strings(g.current) + slot.str_off, n);
        buf[n] = '\0';
    }
    lck_rw_unlock_shared(g.snap_lock);
    kc::reader_exit();
    return len;
}

extern "C" uint64_t kc_generation(void)
{
    if (!kc::reader_enter())
        return 0;
    lck_rw_lock_shared(g.snap_lock);
    const uint64_t gen = g.current->generation;
    lck_rw_unlock_shared(g.snap_lock);
    kc::reader_exit();
    return gen;
}
