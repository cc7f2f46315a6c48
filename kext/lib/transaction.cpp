// Transactions: begin at the generation the writer read, set values into a
// private copy of the snapshot, commit (validate everything again, swap the
// pointer, bump the generation) or abort. A failed commit changes nothing.
#include "kc_internal.h"

#include <libkern/libkern.h>
#include <string.h>
#include <sys/errno.h>

namespace kc {

namespace {

// Ends the connection's transaction, whatever happens next: the staged
// snapshot and the generation it began at are the caller's from here on. A
// transaction another thread of this connection is still writing into stays.
errno_t end_transaction(Client *c, int opt, Snapshot **staged, uint64_t *expected)
{
    lck_mtx_lock(g.ctl.mtx);
    *staged = c->staged;
    *expected = c->expected_generation;
    const bool busy = c->txn_busy;
    if (!busy)
        c->staged = nullptr;
    lck_mtx_unlock(g.ctl.mtx);
    if (busy)
        return fail(c, EBUSY, KC_R_TRANSACTION_OPEN, opt, kNoIndex);
    if (*staged == nullptr)
        return fail(c, EINVAL, KC_R_NO_TRANSACTION, opt, kNoIndex);
    return 0;
}

// Installs `staged` if the current snapshot is still at `expected` and returns
// the one it replaced (nullptr: stale, nothing installed). commit_mtx
// serializes commits, and only a commit changes or frees g.snap.current, so
// under it g.snap.current can be read without g.snap.lock: the comparison (and
// its big list compares) never holds g.snap.lock, so readers never wait behind it.
Snapshot *install(Snapshot *staged, uint64_t expected, uint8_t *changed_bits, uint32_t *changed)
{
    Snapshot *old = nullptr;
    lck_mtx_lock(g.snap.commit_mtx);
    if (g.snap.current->generation == expected) {
        *changed = snapshot_changed(g.snap.current, staged, changed_bits);
        lck_rw_lock_exclusive(g.snap.lock);
        old = g.snap.current;
        g.snap.current = staged; // from here on `staged` belongs to the readers
        lck_rw_unlock_exclusive(g.snap.lock);
    }
    lck_mtx_unlock(g.snap.commit_mtx);
    return old;
}

// What follows a commit: its events, the heartbeat's new interval, the kext's
// own hook.
void announce(Client *c, const kc_commit_reply &r, uint8_t *changed_bits)
{
    events_config_changed(); // a new rate limit applies to this commit's own events
    post_tunables_changed(r.generation, changed_bits, r.changed);
    changes_give(c, changed_bits);
    post_applied(r.generation, r.config_hash, r.changed);
    heartbeat_schedule(); // a changed interval takes effect now
    if (g.load.cfg->on_commit != nullptr)
        g.load.cfg->on_commit(r.generation, r.changed);
}

} // namespace

errno_t commit(Client *c, int opt, void *data, size_t *len)
{
    if (*len < sizeof(kc_commit_reply))
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, kNoIndex);
    Snapshot *staged = nullptr;
    uint64_t expected = 0;
    if (const errno_t err = end_transaction(c, opt, &staged, &expected); err != 0)
        return err;

    // Validate everything again: the snapshot must be good as a whole (this
    // also refuses a list missing chunks and seals the staged lists).
    uint32_t bad = kNoIndex;
    if (const uint32_t reason = check_snapshot(staged, &bad); reason != KC_R_NONE) {
        snapshot_free(staged);
        return fail(c, EINVAL, reason, opt, bad);
    }
    const uint64_t generation = expected + 1;
    const uint64_t hash = snapshot_hash(staged);
    staged->generation = generation;
    staged->hash = hash;

    // Count changes against the snapshot we replace.
    uint8_t *changed_bits = changes_take(c); // NULL: the per-tunable events are lost, not the commit
    uint32_t changed = 0;
    Snapshot *old = install(staged, expected, changed_bits, &changed);
    if (old == nullptr) {
        changes_give(c, changed_bits);
        snapshot_free(staged);
        return fail(c, kErrStale, KC_R_STALE_GENERATION, opt, kNoIndex);
    }
    count(g.counters.commits);
    snapshot_free(old); // no reader holds it: they copy under the shared lock
    kc_commit_reply r;
    memset(&r, 0, sizeof r);
    r.generation = generation;
    r.config_hash = hash;
    r.changed = changed;
    memcpy(data, &r, sizeof r);
    *len = sizeof r;
    announce(c, r, changed_bits);
    return 0;
}

// ---- setsockopt handlers ----

errno_t begin(Client *c, int opt, const void *data, size_t len)
{
    if (len != sizeof(kc_txn_begin))
        return fail(c, EINVAL, KC_R_BAD_LENGTH, opt, kNoIndex);
    kc_txn_begin req;
    memcpy(&req, data, sizeof req);
    Snapshot *staged = snapshot_copy_current();
    if (staged == nullptr)
        return fail(c, ENOMEM, KC_R_NO_MEMORY, opt, kNoIndex);
    if (staged->generation != req.expected_generation) {
        snapshot_free(staged);
        return fail(c, kErrStale, KC_R_STALE_GENERATION, opt, kNoIndex);
    }
    // Check and install under one lock: two begins racing on the same
    // connection must not both succeed.
    lck_mtx_lock(g.ctl.mtx);
    const bool open = c->staged != nullptr;
    if (!open) {
        c->staged = staged;
        c->expected_generation = req.expected_generation;
    }
    lck_mtx_unlock(g.ctl.mtx);
    if (open) {
        snapshot_free(staged);
        return fail(c, EBUSY, KC_R_TRANSACTION_OPEN, opt, kNoIndex);
    }
    return 0;
}

namespace {

// One chunk of a list value. The chunk is checked before the transaction is
// touched; staging it may allocate and copy, so it runs without g.ctl.mtx, the
// transaction claimed (txn_busy) so no other thread of this connection can
// commit or abort it meanwhile.
errno_t set_list_chunk(Client *c, int opt, const kc_value_hdr &h, const unsigned char *payload)
{
    if (const uint32_t reason = check_list_chunk(h.index, h, payload); reason != KC_R_NONE)
        return fail(c, EINVAL, reason, opt, h.index);
    lck_mtx_lock(g.ctl.mtx);
    Snapshot *s = c->staged;
    const bool busy = c->txn_busy;
    if (s != nullptr && !busy)
        c->txn_busy = true;
    lck_mtx_unlock(g.ctl.mtx);
    if (s == nullptr)
        return fail(c, EINVAL, KC_R_NO_TRANSACTION, opt, h.index);
    if (busy)
        return fail(c, EBUSY, KC_R_TRANSACTION_OPEN, opt, h.index);
    const uint32_t reason = list_stage_chunk(&slots(s)[h.index].list, g.load.cfg->table[h.index], h, payload);
    lck_mtx_lock(g.ctl.mtx);
    c->txn_busy = false;
    lck_mtx_unlock(g.ctl.mtx);
    if (reason != KC_R_NONE)
        return fail(c, reason == KC_R_NO_MEMORY ? ENOMEM : EINVAL, reason, opt, h.index);
    return 0;
}

// One value (or list chunk) of a TXN_SET, its header already read and its
// payload known to be h.length bytes inside the option.
errno_t set_one(Client *c, int opt, const kc_value_hdr &h, const unsigned char *payload)
{
    if (h.index >= g.load.cfg->count)
        return fail(c, ENOENT, KC_R_UNKNOWN_TUNABLE, opt, h.index);
    const kc_tunable_def &d = g.load.cfg->table[h.index];
    if (h.type != d.type)
        return fail(c, EINVAL, KC_R_TYPE_MISMATCH, opt, h.index);
    if (d.flags & KC_TF_LOAD_ONLY)
        return fail(c, EPERM, KC_R_LOAD_ONLY, opt, h.index);
    if (is_list(d.type))
        return set_list_chunk(c, opt, h, payload);
    if (h.offset != 0)
        return fail(c, EINVAL, KC_R_BAD_OFFSET, opt, h.index);

    uint32_t reason;
    kc_scalar v = {0};
    if (d.type == KC_TYPE_STRING) {
        if (h.count != h.length || h.total != h.length)
            return fail(c, EINVAL, KC_R_BAD_LENGTH, opt, h.index);
        reason = check_string(h.index, reinterpret_cast<const char *>(payload), h.length);
    } else {
        if (h.count != 1 || h.total != 1 || h.length != sizeof v)
            return fail(c, EINVAL, KC_R_BAD_LENGTH, opt, h.index);
        memcpy(&v, payload, sizeof v);
        reason = check_scalar(h.index, v);
    }
    if (reason != KC_R_NONE)
        return fail(c, EINVAL, reason, opt, h.index);

    lck_mtx_lock(g.ctl.mtx);
    Snapshot *s = c->staged;
    if (s != nullptr) {
        Slot &slot = slots(s)[h.index];
        if (d.type == KC_TYPE_STRING) {
            memcpy(strings(s) + slot.str_off, payload, h.length);
            strings(s)[slot.str_off + h.length] = '\0';
            slot.len = h.length;
        } else {
            slot.v = v;
        }
    }
    lck_mtx_unlock(g.ctl.mtx);
    if (s == nullptr)
        return fail(c, EINVAL, KC_R_NO_TRANSACTION, opt, h.index);
    return 0;
}

} // namespace

namespace {

// Checks that the option is whole values back to back before any is staged:
// a malformed option stages nothing. A version 1 library takes exactly one.
// The error names the value whose length is wrong, or the one the stray
// bytes follow.
errno_t check_framing(Client *c, int opt, const unsigned char *at, size_t left)
{
    uint32_t index = kNoIndex;
    do {
        if (left < sizeof(kc_value_hdr))
            return fail(c, EINVAL, KC_R_BAD_LENGTH, opt, index);
        kc_value_hdr h;
        memcpy(&h, at, sizeof h);
        index = h.index;
        const size_t rest = left - sizeof h;
        const bool fits = KC_LIB_PROTO_VERSION >= 2 ? h.length <= rest : h.length == rest;
        if (!fits)
            return fail(c, EINVAL, KC_R_BAD_LENGTH, opt, index);
        at += sizeof h + h.length;
        left = rest - h.length;
    } while (left != 0);
    return 0;
}

} // namespace

// Version 1: exactly one value per option. Version 2: values back to back,
// staged in order until one is refused (proto.h, kc_value_hdr).
errno_t set_value(Client *c, int opt, const void *data, size_t len)
{
    const auto *at = static_cast<const unsigned char *>(data);
    if (const errno_t err = check_framing(c, opt, at, len); err != 0)
        return err;
    const unsigned char *end = at + len;
    while (at < end) {
        kc_value_hdr h;
        memcpy(&h, at, sizeof h);
        if (const errno_t err = set_one(c, opt, h, at + sizeof h); err != 0)
            return err;
        at += sizeof h + h.length;
    }
    return 0;
}

errno_t abort_txn(Client *c)
{
    lck_mtx_lock(g.ctl.mtx);
    Snapshot *s = c->staged;
    const bool busy = c->txn_busy;
    if (!busy)
        c->staged = nullptr;
    lck_mtx_unlock(g.ctl.mtx);
    if (busy) // a list chunk is being staged on another thread: abort after it
        return fail(c, EBUSY, KC_R_TRANSACTION_OPEN, KC_OPT_TXN_ABORT, kNoIndex);
    if (s != nullptr)
        count(g.counters.aborts);
    snapshot_free(s);
    return 0;
}

} // namespace kc
