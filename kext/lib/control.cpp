// The two kernel controls (transactions are in transaction.cpp): "<bundle-id>" (privileged, read/write) and
// "<bundle-id>.query" (anyone, read-only). Every length, index, type and value
// from user space is checked here before use (DESIGN.md rule 1); the daemon
// validating first does not excuse the kernel.
#include "kc_internal.h"

#include <libkern/libkern.h>
#include <string.h>
#include <sys/errno.h>
#include <sys/kauth.h>
#include <sys/proc.h>

namespace kc {

errno_t fail(Client *c, errno_t err, uint32_t reason, int opt, uint32_t index)
{
    count(g.counters.rejections);
    count(g.counters.rejected[reason < KC_COUNTER_REASONS ? reason : 0]);
    lck_mtx_lock(g.ctl.mtx);
    c->last_error.error = static_cast<uint32_t>(err);
    c->last_error.reason = reason;
    c->last_error.opt = static_cast<uint32_t>(opt);
    c->last_error.index = index;
    lck_mtx_unlock(g.ctl.mtx);
    return err;
}

namespace {

bool visible(const Client *c, uint32_t index)
{
    return c->privileged || !(g.load.cfg->table[index].flags & KC_TF_HIDDEN);
}

void copy_field(char *dst, size_t size, const char *src)
{
    memset(dst, 0, size);
    if (src != nullptr)
        strlcpy(dst, src, size);
}

// ---- getsockopt handlers: `data` holds *len bytes, input copied in first ----

// Copies a request from the first bytes of the caller's buffer; too short a
// buffer is refused (EINVAL, KC_R_BAD_LENGTH) before anything is read.
template <class Request> errno_t copy_request(Client *c, int opt, const void *data, size_t len, Request &out)
{
    if (len < sizeof out)
        return fail(c, EINVAL, KC_R_BAD_LENGTH, opt, kNoIndex);
    memcpy(&out, data, sizeof out);
    return 0;
}

// The same for a request naming a tunable: one this client may see.
template <class Request> errno_t copy_tunable_request(Client *c, int opt, const void *data, size_t len, Request &out)
{
    if (const errno_t err = copy_request(c, opt, data, len, out); err != 0)
        return err;
    if (out.index >= g.load.cfg->count || !visible(c, out.index))
        return fail(c, ENOENT, KC_R_UNKNOWN_TUNABLE, opt, out.index);
    return 0;
}

// A reply of fixed size; the handler has checked that the buffer holds it.
template <class Reply> errno_t reply(const Reply &r, void *data, size_t *len)
{
    memcpy(data, &r, sizeof r);
    *len = sizeof r;
    return 0;
}

// The descriptor of tunable `index` as the contract carries it.
void fill_desc(uint32_t index, kc_tunable_desc *out)
{
    const kc_tunable_def &d = g.load.cfg->table[index];
    memset(out, 0, sizeof *out);
    out->index = index;
    out->type = d.type;
    out->flags = d.flags;
    out->max_count = d.max_count;
    out->min = d.min;
    out->max = d.max;
    out->def = d.def;
    copy_field(out->name, sizeof out->name, d.name);
    copy_field(out->unit, sizeof out->unit, d.unit);
    copy_field(out->help, sizeof out->help, d.help);
    copy_field(out->enum_names, sizeof out->enum_names, d.enum_names);
    copy_field(out->def_string, sizeof out->def_string, d.def_string);
}

// Version 2's reply goes only to a client that says it speaks version 2 and
// leaves room for it; everyone else gets version 1's, byte for byte.
errno_t get_hello(Client *c, int opt, void *data, size_t *len)
{
    if (*len < sizeof(kc_hello_reply))
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, kNoIndex);
    kc_hello_req req;
    memset(&req, 0, sizeof req);
    memcpy(&req, data, sizeof req); // the buffer is at least a reply long; no request reads as zeros
    kc_hello_reply_v2 r;
    memset(&r, 0, sizeof r);
    r.v1.proto_version = KC_LIB_PROTO_VERSION;
    r.v1.min_proto_version = KC_PROTO_MIN_VERSION;
    r.v1.capabilities = KC_CAP_TRANSACTIONS | KC_CAP_EVENTS | KC_CAP_QUERY_CONTROL;
    r.v1.tunable_count = g.load.cfg->count;
    r.v1.max_option_len = KC_OPT_MAX_LEN;
    copy_field(r.v1.kext_version, sizeof r.v1.kext_version, g.load.cfg->version);
    copy_field(r.v1.bundle_id, sizeof r.v1.bundle_id, g.load.cfg->bundle_id);
    size_t size = sizeof r.v1;
    if (KC_LIB_PROTO_VERSION >= 2 && req.proto_version >= 2 && *len >= sizeof r) {
        r.v1.capabilities |= KC_CAP_BATCH;
        r.schema_hash = g.load.schema_hash[c->privileged ? 1 : 0];
        size = sizeof r;
    }
    memcpy(data, &r, size);
    *len = size;
    return 0;
}

errno_t get_describe(Client *c, int opt, void *data, size_t *len)
{
    kc_describe_req req;
    if (const errno_t err = copy_tunable_request(c, opt, data, *len, req); err != 0)
        return err;
    if (*len < sizeof(kc_tunable_desc))
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, req.index);
    kc_tunable_desc out;
    fill_desc(req.index, &out);
    return reply(out, data, len);
}

// Version 2: the table from req.index on in as few options as fit it.
errno_t get_describe_all(Client *c, int opt, void *data, size_t *len)
{
    kc_describe_req req;
    if (const errno_t err = copy_request(c, opt, data, *len, req); err != 0)
        return err;
    const uint32_t total = g.load.cfg->count;
    if (req.index > total)
        return fail(c, EINVAL, KC_R_BAD_OFFSET, opt, req.index);
    const size_t room = *len < KC_OPT_MAX_LEN ? *len : KC_OPT_MAX_LEN;
    if (room < sizeof(kc_describe_batch))
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, kNoIndex);
    auto *out = static_cast<unsigned char *>(data);
    kc_describe_batch b;
    memset(&b, 0, sizeof b);
    b.first = req.index;
    b.total = total;
    size_t at = sizeof b;
    uint32_t i = req.index;
    for (; i < total; ++i) {
        if (!visible(c, i))
            continue;
        kc_tunable_desc d;
        fill_desc(i, &d);
        const size_t n = kc_desc_record_put(&d, out + at, room - at);
        if (n == 0)
            break;
        at += n;
        ++b.count;
    }
    if (b.count == 0 && i < total)
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, i);
    b.next = i;
    memcpy(out, &b, sizeof b);
    *len = at;
    return 0;
}

// A list travels in chunks: as many whole elements from req.offset as fit
// in the caller's buffer; count and total in the header tell the client
// whether to ask again from offset + count.
errno_t get_list(Client *c, int opt, const kc_get_req &req, void *data, size_t *len)
{
    if (*len < sizeof(kc_value_hdr))
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, req.index);
    auto *out = static_cast<unsigned char *>(data);
    kc_value_hdr h;
    memset(&h, 0, sizeof h);
    h.index = req.index;
    h.type = g.load.cfg->table[req.index].type;
    // Copy outside g.snap.lock: with a commit's writer waiting, lck_rw makes
    // new readers wait behind a shared holder, so hold it only to take a
    // reference on the (immutable) block. The reply is capped at
    // KC_OPT_MAX_LEN whatever buffer the caller offers (XNU allows 64 MiB).
    const size_t room = (*len < KC_OPT_MAX_LEN ? *len : KC_OPT_MAX_LEN) - sizeof h;
    lck_rw_lock_shared(g.snap.lock);
    ListBlock *b = slots(g.snap.current)[req.index].list;
    list_retain(b);
    lck_rw_unlock_shared(g.snap.lock);
    const uint32_t reason = list_read(b, req.offset, out + sizeof h, room, &h);
    list_release(b);
    if (reason == KC_R_BAD_LENGTH)
        return fail(c, kErrBufferTooSmall, reason, opt, req.index);
    if (reason != KC_R_NONE)
        return fail(c, EINVAL, reason, opt, req.index);
    memcpy(out, &h, sizeof h);
    *len = sizeof h + h.length;
    return 0;
}

errno_t get_value(Client *c, int opt, void *data, size_t *len)
{
    kc_get_req req;
    if (const errno_t err = copy_tunable_request(c, opt, data, *len, req); err != 0)
        return err;
    const kc_tunable_def &d = g.load.cfg->table[req.index];
    if (is_list(d.type))
        return get_list(c, opt, req, data, len);
    if (req.offset != 0)
        return fail(c, EINVAL, KC_R_BAD_OFFSET, opt, req.index);
    const size_t room = d.type == KC_TYPE_STRING ? d.max_count : sizeof(kc_scalar);
    if (*len < sizeof(kc_value_hdr) + room)
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, req.index);

    auto *out = static_cast<unsigned char *>(data);
    kc_value_hdr h;
    memset(&h, 0, sizeof h);
    h.index = req.index;
    h.type = d.type;
    lck_rw_lock_shared(g.snap.lock);
    const Slot &slot = slots(g.snap.current)[req.index];
    if (d.type == KC_TYPE_STRING) {
        h.count = h.total = h.length = slot.len;
        memcpy(out + sizeof h, strings(g.snap.current) + slot.str_off, slot.len);
    } else {
        h.count = h.total = 1;
        h.length = sizeof slot.v;
        memcpy(out + sizeof h, &slot.v, sizeof slot.v);
    }
    lck_rw_unlock_shared(g.snap.lock);
    memcpy(out, &h, sizeof h);
    *len = sizeof h + h.length;
    return 0;
}

errno_t get_state(Client *c, int opt, void *data, size_t *len)
{
    if (*len < sizeof(kc_state))
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, kNoIndex);
    kc_state s;
    memset(&s, 0, sizeof s);
    lck_rw_lock_shared(g.snap.lock);
    s.generation = g.snap.current->generation;
    s.config_hash = g.snap.current->hash;
    lck_rw_unlock_shared(g.snap.lock);
    // The hash covers hidden tunables: an unprivileged reader could test
    // guesses of a hidden value against it.
    if (!c->privileged && g.load.has_hidden)
        s.config_hash = 0;
    s.tunable_count = g.load.cfg->count;
    s.event_seq = __atomic_load_n(&g.ev.seq, __ATOMIC_RELAXED);
    s.load_id = g.load.id;
    lck_mtx_lock(g.ctl.mtx);
    s.clients = g.ctl.clients;
    lck_mtx_unlock(g.ctl.mtx);
    return reply(s, data, len);
}

errno_t get_counters(Client *c, int opt, void *data, size_t *len)
{
    if (*len < sizeof(kc_counters))
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, kNoIndex);
    kc_counters out;
    kc_get_counters(&out);
    return reply(out, data, len);
}

errno_t get_last_error(Client *c, int opt, void *data, size_t *len)
{
    if (*len < sizeof(kc_error_detail))
        return fail(c, kErrBufferTooSmall, KC_R_BAD_LENGTH, opt, kNoIndex);
    lck_mtx_lock(g.ctl.mtx);
    memcpy(data, &c->last_error, sizeof c->last_error);
    lck_mtx_unlock(g.ctl.mtx);
    *len = sizeof(kc_error_detail);
    return 0;
}

errno_t connect_client(bool privileged, struct sockaddr_ctl *sac, void **unitinfo)
{
    *unitinfo = nullptr;
    if (!is_ready())
        return EBUSY; // still starting
    const size_t size = client_alloc_size(g.load.cfg->count);
    auto *c = static_cast<Client *>(OSMalloc(static_cast<uint32_t>(size), g.load.tag));
    if (c == nullptr)
        return ENOMEM;
    memset(c, 0, size);
    c->changed_bits = reinterpret_cast<uint8_t *>(c + 1);
    c->privileged = privileged;
    c->unit = sac->sc_unit;
    // Who connected: the disconnect reports these too, since whoever drops
    // the last reference (a process the fd was passed to, the kernel's
    // unp_gc thread) is not the client.
    c->pid = proc_selfpid();
    c->uid = kauth_getuid();
    c->last_error.index = kNoIndex;
    lck_mtx_lock(g.ctl.mtx);
    const bool stopping = phase() != Phase::kReady;
    if (!stopping && ++g.ctl.clients > g.ctl.clients_peak)
        g.ctl.clients_peak = g.ctl.clients;
    const uint32_t clients = g.ctl.clients;
    lck_mtx_unlock(g.ctl.mtx);
    if (stopping) {
        OSFree(c, static_cast<uint32_t>(size), g.load.tag);
        return EBUSY; // the kext is being unloaded
    }
    *unitinfo = c;
    // XNU runs ctl_connect in the connecting thread with the socket unlocked
    // and ctl_mtx not held (kern_control.c ctl_connect), so the caller's
    // identity is current and posting (which may block) is allowed.
    post_client(KC_EV_CLIENT_CONNECTED, c, clients, c->pid, c->uid);
    return 0;
}

// One callback per control: which control a client reached is fixed by the
// callback XNU runs, not by comparing kern_ctl_refs (those are written back
// only after the control can already accept connections).
errno_t on_connect_admin(kern_ctl_ref, struct sockaddr_ctl *sac, void **unitinfo)
{
    return connect_client(true, sac, unitinfo);
}

errno_t on_connect_query(kern_ctl_ref, struct sockaddr_ctl *sac, void **unitinfo)
{
    return connect_client(false, sac, unitinfo);
}

errno_t on_disconnect(kern_ctl_ref, u_int32_t, void *unitinfo)
{
    // Also called after a failed connect, with whatever connect left behind.
    auto *c = static_cast<Client *>(unitinfo);
    if (c == nullptr)
        return 0;
    // A dropped connection discards its transaction. abort_txn is EBUSY only
    // while a sockopt call of this connection is inside TXN_SET; XNU's
    // ctl_disconnect waits for in-flight ctl_ctloutput calls before calling
    // us (kern_control.c ctl_kcb_require_clearing), so that cannot happen.
    // Should it ever, wait rather than free the client under that call.
    while (abort_txn(c) == EBUSY) {
        timespec ts = {0, 1000 * 1000}; // 1 ms
        msleep(c, nullptr, 0, "kcdisc", &ts);
    }
    lck_mtx_lock(g.ctl.mtx);
    const uint32_t clients = --g.ctl.clients;
    lck_mtx_unlock(g.ctl.mtx);
    // Called from close() or process exit in the closing thread, socket
    // unlocked, ctl_mtx not held (kern_control.c ctl_disconnect): may block.
    // kc_stop cannot free the library state meanwhile: ctl_deregister stays
    // EBUSY until this callback has returned.
    post_client(KC_EV_CLIENT_DISCONNECTED, c, clients, c->pid, c->uid);
    OSFree(c, static_cast<uint32_t>(client_alloc_size(g.load.cfg->count)), g.load.tag);
    return 0;
}

errno_t on_setopt(kern_ctl_ref, u_int32_t, void *unitinfo, int opt, void *data, size_t len)
{
    auto *c = static_cast<Client *>(unitinfo);
    count(g.counters.requests);
    if (c == nullptr) {
        count(g.counters.rejections);
        count(g.counters.rejected[KC_R_NONE]);
        return EINVAL;
    }
    if (len > KC_OPT_MAX_LEN)
        return fail(c, EMSGSIZE, KC_R_BAD_LENGTH, opt, kNoIndex);
    if (len != 0 && data == nullptr)
        return fail(c, EINVAL, KC_R_BAD_LENGTH, opt, kNoIndex);
    if (opt != KC_OPT_TXN_BEGIN && opt != KC_OPT_TXN_SET && opt != KC_OPT_TXN_ABORT)
        return fail(c, EOPNOTSUPP, KC_R_UNKNOWN_OPTION, opt, kNoIndex);
    if (!c->privileged)
        return fail(c, EPERM, KC_R_NOT_PERMITTED, opt, kNoIndex);
    switch (opt) {
    case KC_OPT_TXN_BEGIN: return begin(c, opt, data, len);
    case KC_OPT_TXN_SET: return set_value(c, opt, data, len);
    default: return abort_txn(c);
    }
}

errno_t on_getopt(kern_ctl_ref, u_int32_t, void *unitinfo, int opt, void *data, size_t *len)
{
    auto *c = static_cast<Client *>(unitinfo);
    count(g.counters.requests);
    if (c == nullptr || len == nullptr) {
        count(g.counters.rejections);
        count(g.counters.rejected[KC_R_NONE]);
        return EINVAL;
    }
    // A write through the query control is refused as such, whatever its size.
    if (opt == KC_OPT_TXN_COMMIT && !c->privileged)
        return fail(c, EPERM, KC_R_NOT_PERMITTED, opt, kNoIndex);
    if (opt == KC_OPT_TXN_COMMIT && (data == nullptr || *len == 0)) {
        // A commit is an action, not a read: without a reply buffer it would
        // "succeed" without committing and leave the transaction open.
        return fail(c, EINVAL, KC_R_BAD_LENGTH, opt, kNoIndex);
    }
    if (data == nullptr) {
        // Size query (read options only): the largest reply any can produce.
        *len = KC_OPT_MAX_LEN;
        return 0;
    }
    switch (opt) {
    case KC_OPT_HELLO: return get_hello(c, opt, data, len);
    case KC_OPT_DESCRIBE: return get_describe(c, opt, data, len);
    case KC_OPT_DESCRIBE_ALL:
        if (KC_LIB_PROTO_VERSION < 2)
            return fail(c, EOPNOTSUPP, KC_R_UNKNOWN_OPTION, opt, kNoIndex);
        return get_describe_all(c, opt, data, len);
    case KC_OPT_GET: return get_value(c, opt, data, len);
    case KC_OPT_STATE: return get_state(c, opt, data, len);
    case KC_OPT_LAST_ERROR: return get_last_error(c, opt, data, len);
    case KC_OPT_COUNTERS: return get_counters(c, opt, data, len);
    case KC_OPT_TXN_COMMIT: return commit(c, opt, data, len); // privileged: checked above
    default: return fail(c, EOPNOTSUPP, KC_R_UNKNOWN_OPTION, opt, kNoIndex);
    }
}

// Registration structs live in static storage for the life of the kext; each
// sits at the start of a zeroed 192-byte area because XNU since 10.14 reads
// ctl_bind at offset 176 of the caller's struct (xnu-kpi.md section 1).
struct alignas(8) PaddedReg {
    kern_ctl_reg reg;
    unsigned char tail[192 - sizeof(kern_ctl_reg)];
};
PaddedReg admin_reg;
PaddedReg query_reg;

errno_t register_one(PaddedReg &pr, bool privileged, kern_ctl_ref *ref)
{
    memset(&pr, 0, sizeof pr);
    kern_ctl_reg &r = pr.reg;
    strlcpy(r.ctl_name, g.load.cfg->bundle_id, sizeof r.ctl_name);
    if (!privileged && strlcat(r.ctl_name, KC_QUERY_SUFFIX, sizeof r.ctl_name) >= sizeof r.ctl_name)
        return ENAMETOOLONG;
    r.ctl_flags = privileged ? CTL_FLAG_PRIVILEGED : 0;
    r.ctl_connect = privileged ? on_connect_admin : on_connect_query;
    r.ctl_disconnect = on_disconnect;
    r.ctl_setopt = on_setopt;
    r.ctl_getopt = on_getopt;
    return ctl_register(&r, ref);
}

} // namespace

void schema_hash_compute(void)
{
    uint64_t h[2] = {KC_HASH_INIT, KC_HASH_INIT};
    for (uint32_t i = 0; i < g.load.cfg->count; ++i) {
        kc_tunable_desc d;
        fill_desc(i, &d);
        h[1] = kc_schema_hash_add(h[1], &d);
        if (!(d.flags & KC_TF_HIDDEN))
            h[0] = kc_schema_hash_add(h[0], &d);
    }
    g.load.schema_hash[0] = h[0];
    g.load.schema_hash[1] = h[1];
}

namespace {

// A socket stays listed on a control while its connect (refused: we are not
// ready or stopping) and the disconnect that follows run, so EBUSY can be
// transient. Wait a little for those to drain; a connected client keeps it
// EBUSY and the caller must back out.
constexpr int kDeregisterAttempts = 50;
constexpr long kDeregisterWaitNs = 10 * 1000 * 1000; // 10 ms, 0.5 s in all

errno_t deregister_draining(kern_ctl_ref ref)
{
    errno_t err = EBUSY;
    for (int i = 0; i < kDeregisterAttempts; ++i) {
        err = ctl_deregister(ref);
        if (err != EBUSY)
            return err;
        timespec ts = {0, kDeregisterWaitNs};
        msleep(&g, nullptr, 0, "kcdereg", &ts);
    }
    return err;
}

} // namespace

errno_t controls_register(void)
{
    errno_t err = register_one(admin_reg, true, &g.ctl.admin_ref);
    if (err != 0)
        return err;
    g.ctl.admin_registered = true;
    err = register_one(query_reg, false, &g.ctl.query_ref);
    if (err != 0) {
        // Connections are refused until start finishes, so this drains; a
        // control left registered would call into unmapped code after the
        // failed start, so keep trying: a slow failed start beats a panic.
        // (deregister_draining sleeps between tries.)
        while (deregister_draining(g.ctl.admin_ref) == EBUSY) {
        }
        g.ctl.admin_registered = false;
        return err;
    }
    g.ctl.query_registered = true;
    return 0;
}

errno_t controls_deregister(void)
{
    if (g.ctl.query_registered) {
        const errno_t err = deregister_draining(g.ctl.query_ref);
        if (err != 0)
            return err;
        g.ctl.query_registered = false;
    }
    if (g.ctl.admin_registered) {
        const errno_t err = deregister_draining(g.ctl.admin_ref);
        if (err != 0) {
            // Never leave the kext half-served: put the query control back.
            if (register_one(query_reg, false, &g.ctl.query_ref) == 0)
                g.ctl.query_registered = true;
            return err;
        }
        g.ctl.admin_registered = false;
    }
    return 0;
}

} // namespace kc
