// What in-kernel consumers read (kc_get_*, kc_generation, kc_get_counters)
// and the library's own reads of the current snapshot.
#include "kc_internal.h"

#include <string.h>

namespace kc {

uint64_t current_scalar(uint32_t index)
{
    lck_rw_lock_shared(g.snap.lock);
    const uint64_t v = slots(g.snap.current)[index].v.u;
    lck_rw_unlock_shared(g.snap.lock);
    return v;
}

uint32_t find_tunable(const char *name, uint32_t type)
{
    for (uint32_t i = 0; i < g.load.cfg->count; ++i)
        if (g.load.cfg->table[i].type == type && strcmp(g.load.cfg->table[i].name, name) == 0)
            return i;
    return kNoIndex;
}

} // namespace kc

using kc::g;

extern "C" void kc_get_counters(struct kc_counters *out)
{
    memset(out, 0, sizeof *out);
    if (g.load.cfg == nullptr)
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
    lck_mtx_lock(g.ctl.mtx);
    out->clients = g.ctl.clients;
    out->clients_peak = g.ctl.clients_peak;
    lck_mtx_unlock(g.ctl.mtx);
}

namespace {
bool read_slot(uint32_t index, uint32_t type, kc_scalar *out)
{
    if (!kc::reader_enter())
        return false;
    const bool ok = index < g.load.cfg->count && g.load.cfg->table[index].type == type;
    if (ok) {
        lck_rw_lock_shared(g.snap.lock);
        *out = kc::slots(g.snap.current)[index].v;
        lck_rw_unlock_shared(g.snap.lock);
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
    if (index >= g.load.cfg->count || g.load.cfg->table[index].type != KC_TYPE_STRING) {
        kc::reader_exit();
        if (size)
            buf[0] = '\0';
        return 0;
    }
    lck_rw_lock_shared(g.snap.lock);
    const kc::Slot &slot = kc::slots(g.snap.current)[index];
    const size_t len = slot.len;
    if (size) {
        const size_t n = len < size - 1 ? len : size - 1;
        memcpy(buf, kc::strings(g.snap.current) + slot.str_off, n);
        buf[n] = '\0';
    }
    lck_rw_unlock_shared(g.snap.lock);
    kc::reader_exit();
    return len;
}

extern "C" uint64_t kc_generation(void)
{
    if (!kc::reader_enter())
        return 0;
    lck_rw_lock_shared(g.snap.lock);
    const uint64_t gen = g.snap.current->generation;
    lck_rw_unlock_shared(g.snap.lock);
    kc::reader_exit();
    return gen;
}
