// Tunable snapshots: layout, defaults, copies, validation and the hash.
#include "kc_internal.h"

#include <libkern/libkern.h>
#include <string.h>

namespace kc {

Snapshot *snapshot_alloc(void)
{
    auto *s = static_cast<Snapshot *>(OSMalloc(g.snap.size, g.load.tag));
    if (s != nullptr)
        memset(s, 0, g.snap.size);
    return s;
}

void snapshot_free(Snapshot *s)
{
    if (s == nullptr)
        return;
    for (uint32_t i = 0; i < s->count; ++i)
        list_release(slots(s)[i].list);
    OSFree(s, s->size, g.load.tag);
}

Snapshot *snapshot_defaults(void)
{
    Snapshot *s = snapshot_alloc();
    if (s == nullptr)
        return nullptr;
    s->count = g.load.cfg->count;
    s->size = g.snap.size;
    uint32_t off = 0;
    for (uint32_t i = 0; i < g.load.cfg->count; ++i) {
        const kc_tunable_def &d = g.load.cfg->table[i];
        Slot &slot = slots(s)[i];
        slot.v = d.def;
        if (d.type == KC_TYPE_STRING) {
            slot.str_off = off;
            if (d.def_string != nullptr) {
                slot.len = static_cast<uint32_t>(strnlen(d.def_string, d.max_count));
                memcpy(strings(s) + off, d.def_string, slot.len);
            }
            off += d.max_count + 1;
        } else if (is_list(d.type)) {
            slot.list = list_alloc_empty(d.type); // lists start empty
            if (slot.list == nullptr) {
                snapshot_free(s);
                return nullptr;
            }
        }
    }
    s->generation = 1;
    s->hash = snapshot_hash(s);
    return s;
}

Snapshot *snapshot_copy_current(void)
{
    Snapshot *s = snapshot_alloc();
    if (s == nullptr)
        return nullptr;
    lck_rw_lock_shared(g.snap.lock);
    memcpy(s, g.snap.current, g.snap.size);
    // Share the lists: a reference each, taken before the lock is dropped
    // so a commit cannot free them in between.
    for (uint32_t i = 0; i < s->count; ++i)
        if (slots(s)[i].list != nullptr)
            list_retain(slots(s)[i].list);
    lck_rw_unlock_shared(g.snap.lock);
    return s;
}

uint64_t snapshot_hash(const Snapshot *s)
{
    // Same bytes as the user-space codec's config_hash (proto.h).
    uint64_t h = KC_HASH_INIT;
    for (uint32_t i = 0; i < s->count; ++i) {
        const uint32_t type = g.load.cfg->table[i].type;
        const Slot &slot = slots(s)[i];
        if (type == KC_TYPE_STRING) {
            h = kc_hash_value_begin(h, i, type, slot.len);
            h = kc_hash_bytes(h, strings(s) + slot.str_off, slot.len);
        } else if (is_list(type)) {
            uint32_t len = 0;
            const void *payload = list_payload(slot.list, &len);
            h = kc_hash_value_begin(h, i, type, len);
            h = kc_hash_bytes(h, payload, len);
        } else {
            h = kc_hash_value_begin(h, i, type, sizeof slot.v);
            h = kc_hash_bytes(h, &slot.v, sizeof slot.v);
        }
    }
    return h;
}

uint32_t snapshot_changed(const Snapshot *a, const Snapshot *b, uint8_t *bits)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->count; ++i) {
        const Slot &x = slots(a)[i];
        const Slot &y = slots(b)[i];
        const uint32_t type = g.load.cfg->table[i].type;
        bool diff;
        if (type == KC_TYPE_STRING)
            diff = x.len != y.len || memcmp(strings(a) + x.str_off, strings(b) + y.str_off, x.len) != 0;
        else if (is_list(type))
            diff = !list_equal(x.list, y.list);
        else
            diff = x.v.u != y.v.u;
        n += diff;
        if (diff && bits != nullptr)
            bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    }
    return n;
}

uint32_t check_scalar(uint32_t index, kc_scalar v)
{
    const kc_tunable_def &d = g.load.cfg->table[index];
    switch (d.type) {
    case KC_TYPE_BOOL: return v.u <= 1 ? KC_R_NONE : KC_R_OUT_OF_RANGE;
    case KC_TYPE_INT64: return v.i >= d.min.i && v.i <= d.max.i ? KC_R_NONE : KC_R_OUT_OF_RANGE;
    case KC_TYPE_UINT64: return v.u >= d.min.u && v.u <= d.max.u ? KC_R_NONE : KC_R_OUT_OF_RANGE;
    case KC_TYPE_ENUM: return v.i >= 0 && v.i <= d.max.i ? KC_R_NONE : KC_R_BAD_ENUM;
    default: return KC_R_TYPE_MISMATCH;
    }
}

uint32_t check_string(uint32_t index, const char *data, size_t len)
{
    const kc_tunable_def &d = g.load.cfg->table[index];
    if (d.type != KC_TYPE_STRING)
        return KC_R_TYPE_MISMATCH;
    if (len > d.max_count)
        return KC_R_TOO_LONG;
    if (len != 0 && memchr(data, 0, len) != nullptr)
        return KC_R_BAD_STRING;
    return KC_R_NONE;
}

uint32_t check_snapshot(Snapshot *s, uint32_t *bad_index)
{
    for (uint32_t i = 0; i < s->count; ++i) {
        Slot &slot = slots(s)[i];
        const uint32_t type = g.load.cfg->table[i].type;
        const uint32_t r = type == KC_TYPE_STRING ? check_string(i, strings(s) + slot.str_off, slot.len)
                           : is_list(type)        ? list_seal(&slot.list, i)
                                                  : check_scalar(i, slot.v);
        if (r != KC_R_NONE) {
            *bad_index = i;
            return r;
        }
    }
    return KC_R_NONE;
}

} // namespace kc
