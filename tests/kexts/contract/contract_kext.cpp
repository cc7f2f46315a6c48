// The contract test kext: a kernel control that lets kextsim's fidelity tests
// (tests/integration/kextsim_fidelity_test.cpp) drive each XNU KPI rule
// kextsim claims to reproduce, including the ones a well-behaved kext never
// reaches: data without CTL_DATA_EOR, a full receive buffer, Apple's vendor
// code, an oversized getsockopt reply, a recursive lock, a leaked block.
// The lock, memory, sleep and clock commands serve kextsim_kpi_test.cpp.
// The commands are in contract_cmds.h.
//
// Threading: callbacks for different units run concurrently. All state in `g`
// is guarded by g.mtx, which is never held across a KPI call (ctl_register,
// ctl_deregister, ctl_enqueuedata, kev_msg_post), since those take the
// kernel's own locks and may post events. The test locks (lk_mtx, lk_rw,
// lk_spin) are the tests' to hold and misuse; the kext never takes them itself.
#include "contract_cmds.h"

#include <kern/clock.h>
#include <kern/locks.h>
#include <kern/thread_call.h>
#include <libkern/OSMalloc.h>
#include <mach/kmod.h>
#include <os/log.h>
#include <string.h>
#include <sys/errno.h>
#include <sys/kern_control.h>
#include <sys/param.h>
#include <sys/proc.h>
extern "C" {
#include <sys/kern_event.h>
}

namespace {

constexpr uint32_t kClientMagic = 0x63636c69; // "ccli": a unitinfo this kext made

// Per-connection state, the unitinfo of a main-control unit.
struct Client {
    uint32_t magic;
    uint32_t unit;
    uint32_t id;
    bool failed_on_purpose; // ctl_connect returned an error after making this
    uint64_t token;
    cc_result result; // of this client's last set command
};

struct ExtraControl {
    kern_ctl_ref ref; // kept after ctl_deregister: a stale ref on purpose
    bool used;
    bool registered;
};

struct State {
    lck_grp_attr_t *grp_attr;
    lck_grp_t *grp;
    lck_attr_t *attr;
    lck_mtx_t *mtx;
    lck_mtx_t *lk_mtx; // CC_OPT_LOCK_OPS' locks
    lck_rw_t *lk_rw;
    lck_spin_t *lk_spin;
    uint32_t sleepers; // threads in CC_OPT_MSLEEP (guarded by mtx)
    OSMallocTag tag;
    kern_ctl_ref main_ref;
    bool main_registered;
    ExtraControl extra[CC_MAX_EXTRA + 1]; // [0] unused: slot 0 is the main control
    uint64_t next_token;
    int32_t fail_next_connect;
    bool failed_disconnect_pending;
    bool dereg_in_disconnect;
    bool refuse_stop;
    bool leaked; // a block was leaked: the tag cannot be freed either
    cc_observed obs;
    // CC_OPT_TCALL (guarded by mtx, except the KPI calls themselves)
    thread_call_t tcall;
    uint32_t tc_run_ms;
    cc_tcall_state tc;
};

State g;

// Event payload vectors (contract_cmds.h says what the bytes are).
uint8_t g_vectors[CC_EVENT_VECTORS][CC_EVENT_VECTOR_MAX];

// msleep channels: CC_OPT_MSLEEP / CC_OPT_WAKEUP, and one nobody wakes.
char g_sleep_chan;
char g_clock_chan;

Client *client_of(void *unitinfo)
{
    auto *c = static_cast<Client *>(unitinfo);
    return c != nullptr && c->magic == kClientMagic ? c : nullptr;
}

void set_result(Client *c, const cc_result &r)
{
    lck_mtx_lock(g.mtx);
    c->result = r;
    lck_mtx_unlock(g.mtx);
}

// The control behind a slot, including a stale one; false for a slot never used.
bool ref_of_slot(uint32_t slot, kern_ctl_ref &ref)
{
    if (slot > CC_MAX_EXTRA)
        return false;
    lck_mtx_lock(g.mtx);
    const bool ok = slot == 0 || g.extra[slot].used;
    ref = slot == 0 ? g.main_ref : g.extra[slot].ref;
    lck_mtx_unlock(g.mtx);
    return ok;
}

// ---- extra controls: connect and disconnect only ----

errno_t extra_connect(kern_ctl_ref, struct sockaddr_ctl *, void **unitinfo)
{
    *unitinfo = nullptr;
    return 0;
}

errno_t extra_disconnect(kern_ctl_ref, u_int32_t, void *)
{
    return 0;
}

// ---- set commands ----

errno_t cmd_enqueue(Client *c, void *data, size_t len)
{
    cc_enqueue_req req;
    if (data == nullptr || len < sizeof req)
        return EINVAL;
    memcpy(&req, data, sizeof req);
    if (req.len > CC_MAX_ENQUEUE || len != sizeof req + req.len || (req.unit == 0 && req.slot != 0))
        return EINVAL;
    kern_ctl_ref ref;
    if (!ref_of_slot(req.slot, ref))
        return EINVAL;
    cc_result r{};
    r.err = ctl_enqueuedata(ref, req.unit == 0 ? c->unit : req.unit, static_cast<uint8_t *>(data) + sizeof req, req.len,
                            req.flags);
    set_result(c, r);
    return 0;
}

// Copies in a command's fixed-size argument: EINVAL unless `len` is its size.
template <typename T> errno_t copy_in(const void *data, size_t len, T &out)
{
    if (data == nullptr || len != sizeof out)
        return EINVAL;
    memcpy(&out, data, sizeof out);
    return 0;
}

errno_t cmd_post_event(Client *c, const void *data, size_t len)
{
    cc_event_req req;
    if (copy_in(data, len, req) != 0)
        return EINVAL;
    struct kev_msg msg;
    memset(&msg, 0, sizeof msg);
    lck_mtx_lock(g.mtx);
    msg.vendor_code = req.vendor == 0 ? g.obs.vendor_code : req.vendor;
    lck_mtx_unlock(g.mtx);
    msg.kev_class = req.kev_class;
    msg.kev_subclass = req.kev_subclass;
    msg.event_code = req.event_code;
    for (uint32_t i = 0; i < CC_EVENT_VECTORS; ++i) {
        if (req.sizes[i] > CC_EVENT_VECTOR_MAX)
            return EINVAL;
        msg.dv[i].data_length = req.sizes[i];
        msg.dv[i].data_ptr = g_vectors[i];
    }
    cc_result r{};
    r.id = msg.vendor_code;
    r.err = kev_msg_post(&msg);
    set_result(c, r);
    return 0;
}

errno_t cmd_register(Client *c, const void *data, size_t len)
{
    cc_register_req req;
    if (copy_in(data, len, req) != 0)
        return EINVAL;

    uint32_t slot = 0;
    lck_mtx_lock(g.mtx);
    for (uint32_t i = 1; i <= CC_MAX_EXTRA && slot == 0; ++i)
        if (!g.extra[i].used)
            slot = i;
    if (slot != 0)
        g.extra[slot].used = true; // reserved; released below if ctl_register fails
    lck_mtx_unlock(g.mtx);
    if (slot == 0)
        return ENOSPC;

    struct kern_ctl_reg reg;
    memset(&reg, 0, sizeof reg);
    memcpy(reg.ctl_name, req.name, sizeof reg.ctl_name); // not NUL-terminated if the test says so
    reg.ctl_flags = req.flags;
    reg.ctl_sendsize = req.sendsize;
    reg.ctl_recvsize = req.recvsize;
    reg.ctl_connect = req.null_connect ? nullptr : extra_connect;
    reg.ctl_disconnect = extra_disconnect;
    kern_ctl_ref ref = nullptr;
    cc_result r{};
    r.err = ctl_register(&reg, &ref);
    r.id = reg.ctl_id;
    r.sendsize = reg.ctl_sendsize;
    r.recvsize = reg.ctl_recvsize;

    lck_mtx_lock(g.mtx);
    if (r.err == 0) {
        g.extra[slot].ref = ref;
        g.extra[slot].registered = true;
        r.slot = slot;
    } else {
        g.extra[slot].used = false;
    }
    lck_mtx_unlock(g.mtx);
    set_result(c, r);
    return 0;
}

errno_t cmd_deregister(Client *c, const void *data, size_t len)
{
    uint32_t slot;
    if (copy_in(data, len, slot) != 0)
        return EINVAL;
    kern_ctl_ref ref;
    if (!ref_of_slot(slot, ref))
        return EINVAL;
    cc_result r{};
    r.err = ctl_deregister(ref);
    if (r.err == 0) {
        lck_mtx_lock(g.mtx);
        if (slot == 0)
            g.main_registered = false;
        else
            g.extra[slot].registered = false;
        lck_mtx_unlock(g.mtx);
    }
    set_result(c, r);
    return 0;
}

errno_t cmd_leak(const void *data, size_t len)
{
    uint32_t size;
    if (copy_in(data, len, size) != 0 || size == 0)
        return EINVAL;
    void *block = OSMalloc(size, g.tag);
    if (block == nullptr)
        return ENOMEM;
    memset(block, 0xa5, size);
    lck_mtx_lock(g.mtx);
    g.leaked = true;
    lck_mtx_unlock(g.mtx);
    return 0; // `block` is dropped here on purpose
}

// ---- thread calls ----

char g_tcall_chan; // nobody wakes it: a run sleeps its full run_ms

void tcall_run(thread_call_param_t, thread_call_param_t param1)
{
    uint64_t now = 0;
    clock_get_uptime(&now);
    lck_mtx_lock(g.mtx);
    ++g.tc.runs;
    if (++g.tc.running > g.tc.max_running)
        g.tc.max_running = g.tc.running;
    g.tc.last_param1 = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(param1));
    g.tc.last_run_ns = now;
    const uint32_t ms = g.tc_run_ms;
    if (ms != 0) {
        timespec ts = {static_cast<long>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
        msleep(&g_tcall_chan, g.mtx, 0, "cctcall", &ts);
    }
    --g.tc.running;
    lck_mtx_unlock(g.mtx);
}

errno_t cmd_tcall(Client *c, const void *data, size_t len)
{
    cc_tcall_req req;
    if (copy_in(data, len, req) != 0)
        return EINVAL;
    lck_mtx_lock(g.mtx);
    thread_call_t call = g.tcall;
    lck_mtx_unlock(g.mtx);
    if (req.op != CC_TC_ALLOC && req.op != CC_TC_RUN_MS && call == nullptr)
        return ENOENT;
    cc_result r{};
    switch (req.op) {
    case CC_TC_ALLOC:
        if (call != nullptr)
            return EEXIST;
        call = thread_call_allocate_with_options(tcall_run, nullptr, THREAD_CALL_PRIORITY_KERNEL, req.arg);
        lck_mtx_lock(g.mtx);
        g.tcall = call;
        lck_mtx_unlock(g.mtx);
        r.err = call != nullptr;
        break;
    case CC_TC_ENTER:
        r.err = thread_call_enter1(call, reinterpret_cast<thread_call_param_t>(static_cast<uintptr_t>(req.arg)));
        break;
    case CC_TC_ENTER_DELAYED: {
        uint64_t deadline = 0;
        clock_interval_to_deadline(req.arg, 1000 * 1000, &deadline);
        r.err = thread_call_enter1_delayed(
            call, reinterpret_cast<thread_call_param_t>(static_cast<uintptr_t>(req.arg2)), deadline);
        break;
    }
    case CC_TC_CANCEL: r.err = thread_call_cancel(call); break;
    case CC_TC_FREE:
        r.err = thread_call_free(call);
        if (r.err) {
            lck_mtx_lock(g.mtx);
            g.tcall = nullptr;
            lck_mtx_unlock(g.mtx);
        }
        break;
    case CC_TC_RUN_MS:
        lck_mtx_lock(g.mtx);
        g.tc_run_ms = req.arg;
        lck_mtx_unlock(g.mtx);
        break;
    case CC_TC_FORGET:
        lck_mtx_lock(g.mtx);
        g.tcall = nullptr;
        lck_mtx_unlock(g.mtx);
        break;
    default: return EINVAL;
    }
    set_result(c, r);
    return 0;
}

// Before unload: no run pending or in progress, then free. A run in progress
// holds g.mtx while it sleeps, so taking it waits for that run.
bool tcall_quiesce()
{
    lck_mtx_lock(g.mtx);
    thread_call_t call = g.tcall;
    lck_mtx_unlock(g.mtx);
    if (call == nullptr)
        return true;
    thread_call_cancel(call);
    for (;;) {
        lck_mtx_lock(g.mtx);
        const uint32_t running = g.tc.running;
        lck_mtx_unlock(g.mtx);
        if (running == 0)
            break;
        timespec ts = {0, 10 * 1000 * 1000};
        msleep(&g_tcall_chan, nullptr, 0, "cctcstop", &ts);
    }
    if (!thread_call_free(call))
        return false;
    lck_mtx_lock(g.mtx);
    g.tcall = nullptr;
    lck_mtx_unlock(g.mtx);
    return true;
}

// ---- locks, memory, sleep and clocks ----

errno_t cmd_lock_ops(Client *c, const void *data, size_t len)
{
    cc_lock_ops req;
    if (copy_in(data, len, req) != 0)
        return EINVAL;
    if (req.count > CC_MAX_LOCK_OPS)
        return EINVAL;
    for (uint32_t i = 0; i < req.count; ++i) {
        const uint32_t op = req.ops[i] & CC_LK_OP_MASK;
        if (op < CC_LK_MTX_LOCK || op > CC_LK_FREE_HELD_MTX ||
            (req.ops[i] & ~(CC_LK_OP_MASK | CC_LK_IF_TRUE | CC_LK_IF_FALSE)) != 0)
            return EINVAL;
    }
    void *blocks[CC_MAX_LOCK_OPS] = {};
    uint32_t ran = 0, truths = 0;
    bool flag = true; // the last conditional result
    for (uint32_t i = 0; i < req.count; ++i) {
        const uint32_t word = req.ops[i];
        if (((word & CC_LK_IF_TRUE) != 0 && !flag) || ((word & CC_LK_IF_FALSE) != 0 && flag))
            continue;
        bool truth = true;
        switch (word & CC_LK_OP_MASK) {
        case CC_LK_MTX_LOCK: lck_mtx_lock(g.lk_mtx); break;
        case CC_LK_MTX_UNLOCK: lck_mtx_unlock(g.lk_mtx); break;
        case CC_LK_MTX_ASSERT_OWNED: lck_mtx_assert(g.lk_mtx, LCK_MTX_ASSERT_OWNED); break;
        case CC_LK_MTX_ASSERT_NOTOWNED: lck_mtx_assert(g.lk_mtx, LCK_MTX_ASSERT_NOTOWNED); break;
        case CC_LK_RW_LOCK_SHARED: lck_rw_lock_shared(g.lk_rw); break;
        case CC_LK_RW_LOCK_EXCLUSIVE: lck_rw_lock_exclusive(g.lk_rw); break;
        case CC_LK_RW_UNLOCK_SHARED: lck_rw_unlock_shared(g.lk_rw); break;
        case CC_LK_RW_UNLOCK_EXCLUSIVE: lck_rw_unlock_exclusive(g.lk_rw); break;
        case CC_LK_RW_TRY_SHARED: flag = truth = lck_rw_try_lock(g.lk_rw, LCK_RW_TYPE_SHARED); break;
        case CC_LK_RW_TRY_EXCLUSIVE: flag = truth = lck_rw_try_lock(g.lk_rw, LCK_RW_TYPE_EXCLUSIVE); break;
        case CC_LK_RW_UPGRADE: flag = truth = lck_rw_lock_shared_to_exclusive(g.lk_rw); break;
        case CC_LK_RW_DOWNGRADE: lck_rw_lock_exclusive_to_shared(g.lk_rw); break;
        case CC_LK_SPIN_LOCK: lck_spin_lock(g.lk_spin); break;
        case CC_LK_SPIN_UNLOCK: lck_spin_unlock(g.lk_spin); break;
        case CC_LK_OSMALLOC:
            blocks[i] = OSMalloc(CC_LK_ALLOC_SIZE, g.tag);
            flag = truth = blocks[i] != nullptr;
            break;
        case CC_LK_OSMALLOC_NOBLOCK:
            blocks[i] = OSMalloc_noblock(CC_LK_ALLOC_SIZE, g.tag);
            flag = truth = blocks[i] != nullptr;
            break;
        case CC_LK_FREE_HELD_MTX: {
            // A kext bug on purpose: XNU's lck_mtx_destroy asserts NOTOWNED.
            lck_mtx_t *m = lck_mtx_alloc_init(g.grp, g.attr);
            if (m == nullptr) {
                truth = false;
                break;
            }
            lck_mtx_lock(m);
            lck_mtx_free(m, g.grp);
            break;
        }
        default: break;
        }
        ran |= 1u << i;
        if (truth)
            truths |= 1u << i;
    }
    for (uint32_t i = 0; i < req.count; ++i)
        if (blocks[i] != nullptr)
            OSFree(blocks[i], CC_LK_ALLOC_SIZE, g.tag);
    cc_result r{};
    r.id = ran;
    r.sendsize = truths;
    set_result(c, r);
    return 0;
}

errno_t cmd_free_mismatch(const void *data, size_t len)
{
    cc_free_req req;
    if (copy_in(data, len, req) != 0)
        return EINVAL;
    if (req.alloc_size == 0)
        return EINVAL;
    void *block = OSMalloc(req.alloc_size, g.tag);
    if (block == nullptr)
        return ENOMEM;
    OSFree(block, req.free_size, g.tag); // a kext bug when the sizes differ
    return 0;
}

errno_t cmd_tagfree_live(Client *c, const void *data, size_t len)
{
    uint32_t size;
    if (copy_in(data, len, size) != 0 || size == 0)
        return EINVAL;
    OSMallocTag tag = OSMalloc_Tagalloc(CC_LIVE_TAG, OSMT_DEFAULT);
    if (tag == nullptr)
        return ENOMEM;
    void *block = OSMalloc(size, tag);
    if (block == nullptr) {
        OSMalloc_Tagfree(tag);
        return ENOMEM;
    }
    // XNU marks the tag released and frees it with its last block.
    OSMalloc_Tagfree(tag);
    OSFree(block, size, tag);
    set_result(c, cc_result{});
    return 0;
}

errno_t cmd_alloc_series(Client *c, const void *data, size_t len)
{
    uint32_t n;
    if (copy_in(data, len, n) != 0 || n == 0 || n > CC_MAX_SERIES)
        return EINVAL;
    void *blocks[CC_MAX_SERIES] = {};
    cc_result r{};
    for (uint32_t i = 0; i < n; ++i) {
        blocks[i] = OSMalloc(16, g.tag);
        if (blocks[i] == nullptr) {
            if (r.id == 0)
                r.id = i + 1;
            ++r.sendsize;
        }
    }
    for (uint32_t i = 0; i < n; ++i)
        if (blocks[i] != nullptr)
            OSFree(blocks[i], 16, g.tag);
    set_result(c, r);
    return 0;
}

uint64_t uptime_ns()
{
    uint64_t abs = 0, ns = 0;
    clock_get_uptime(&abs);
    absolutetime_to_nanoseconds(abs, &ns);
    return ns;
}

errno_t cmd_msleep(Client *c, const void *data, size_t len)
{
    cc_msleep_req req;
    if (copy_in(data, len, req) != 0)
        return EINVAL;
    if (req.pdrop > 1)
        return EINVAL;
    struct timespec ts;
    ts.tv_sec = req.timeout_ms / 1000;
    ts.tv_nsec = static_cast<long>(req.timeout_ms % 1000) * 1000000L;
    lck_mtx_lock(g.mtx);
    ++g.sleepers;
    const uint64_t before = uptime_ns();
    const int err = msleep(&g_sleep_chan, g.mtx, req.pdrop ? PDROP : 0, "cc",
                           req.timeout_ms == CC_MSLEEP_NO_TIMEOUT ? nullptr : &ts);
    const uint64_t after = uptime_ns();
    if (req.pdrop) {
        lck_mtx_assert(g.mtx, LCK_MTX_ASSERT_NOTOWNED);
        lck_mtx_lock(g.mtx);
    } else {
        lck_mtx_assert(g.mtx, LCK_MTX_ASSERT_OWNED);
    }
    --g.sleepers;
    lck_mtx_unlock(g.mtx);
    cc_result r{};
    r.err = err;
    r.id = static_cast<uint32_t>((after - before) / 1000u);
    set_result(c, r);
    return 0;
}

errno_t cmd_wakeup(Client *c)
{
    lck_mtx_lock(g.mtx);
    cc_result r{};
    r.id = g.sleepers;
    wakeup(&g_sleep_chan);
    lck_mtx_unlock(g.mtx);
    set_result(c, r);
    return 0;
}

errno_t cmd_pageable_noblock(Client *c)
{
    OSMallocTag tag = OSMalloc_Tagalloc(CC_BUNDLE_ID ".pageable", OSMT_PAGEABLE);
    if (tag == nullptr)
        return ENOMEM;
    void *block = OSMalloc_noblock(16, tag);
    cc_result r{};
    r.id = block != nullptr ? 1 : 0;
    if (block != nullptr)
        OSFree(block, 16, tag);
    OSMalloc_Tagfree(tag);
    set_result(c, r);
    return 0;
}

errno_t get_clock(void *data, size_t *len)
{
    cc_clock_io io;
    if (data == nullptr || *len < sizeof io)
        return EINVAL;
    memcpy(&io, data, sizeof io);
    struct timespec ts;
    ts.tv_sec = io.sleep_ms / 1000;
    ts.tv_nsec = static_cast<long>(io.sleep_ms % 1000) * 1000000L;
    io.abs_before = mach_absolute_time();
    clock_get_uptime(&io.uptime_before);
    io.sleep_err = io.sleep_ms == 0 ? 0 : msleep(&g_clock_chan, nullptr, 0, "ccclock", &ts);
    clock_get_uptime(&io.uptime_after);
    io.abs_after = mach_absolute_time();
    absolutetime_to_nanoseconds(io.abs_after - io.abs_before, &io.elapsed_ns);
    nanoseconds_to_absolutetime(io.elapsed_ns, &io.roundtrip_abs);
    memcpy(data, &io, sizeof io);
    *len = sizeof io;
    return 0;
}

// ---- callbacks of the main control ----

errno_t contract_connect(kern_ctl_ref, struct sockaddr_ctl *sac, void **unitinfo)
{
    auto *c = static_cast<Client *>(OSMalloc(sizeof(Client), g.tag));
    if (c == nullptr)
        return ENOMEM;
    memset(c, 0, sizeof *c);
    c->magic = kClientMagic;
    c->unit = sac->sc_unit;
    c->id = sac->sc_id;
    *unitinfo = c;

    lck_mtx_lock(g.mtx);
    c->token = ++g.next_token;
    ++g.obs.connects;
    const int32_t fail = g.fail_next_connect;
    g.fail_next_connect = 0;
    if (fail != 0) {
        // Half-built on purpose: XNU still calls ctl_disconnect with it.
        c->failed_on_purpose = true;
        g.obs.failed_connect_unit = c->unit;
        g.obs.failed_connect_token = c->token;
        g.failed_disconnect_pending = true;
    }
    lck_mtx_unlock(g.mtx);
    return fail;
}

errno_t contract_disconnect(kern_ctl_ref, u_int32_t unit, void *unitinfo)
{
    Client *c = client_of(unitinfo);
    lck_mtx_lock(g.mtx);
    ++g.obs.disconnects;
    if (g.failed_disconnect_pending && unit == g.obs.failed_connect_unit) {
        g.failed_disconnect_pending = false;
        g.obs.failed_disconnect_unit = unit;
        g.obs.failed_disconnect_token = c != nullptr ? c->token : 0;
    }
    const bool dereg = g.dereg_in_disconnect;
    g.dereg_in_disconnect = false;
    const kern_ctl_ref main_ref = g.main_ref;
    lck_mtx_unlock(g.mtx);

    if (dereg) {
        // XNU keeps this socket on the control's list until the callback
        // returns, so this is EBUSY even for the last client.
        const errno_t err = ctl_deregister(main_ref);
        lck_mtx_lock(g.mtx);
        g.obs.dereg_in_disconnect = err;
        if (err == 0)
            g.main_registered = false;
        lck_mtx_unlock(g.mtx);
    }
    if (c != nullptr) {
        c->magic = 0;
        OSFree(c, sizeof(Client), g.tag);
    }
    return 0;
}

errno_t contract_setopt(kern_ctl_ref, u_int32_t, void *unitinfo, int opt, void *data, size_t len)
{
    Client *c = client_of(unitinfo);
    if (c == nullptr)
        return EINVAL;
    uint32_t v = 0;
    switch (opt) {
    case CC_OPT_ENQUEUE: return cmd_enqueue(c, data, len);
    case CC_OPT_POST_EVENT: return cmd_post_event(c, data, len);
    case CC_OPT_REGISTER: return cmd_register(c, data, len);
    case CC_OPT_DEREGISTER: return cmd_deregister(c, data, len);
    case CC_OPT_DEREG_IN_DISCONNECT:
        lck_mtx_lock(g.mtx);
        g.dereg_in_disconnect = true;
        lck_mtx_unlock(g.mtx);
        return 0;
    case CC_OPT_FAIL_NEXT_CONNECT:
        if (copy_in(data, len, v) != 0 || v == 0)
            return EINVAL;
        lck_mtx_lock(g.mtx);
        g.fail_next_connect = static_cast<int32_t>(v);
        lck_mtx_unlock(g.mtx);
        return 0;
    case CC_OPT_LEAK: return cmd_leak(data, len);
    case CC_OPT_LOCK_TWICE:
        // A kext bug on purpose: lck_mtx is not recursive, so on XNU this
        // thread deadlocks (or panics with lock debugging on).
        lck_mtx_lock(g.mtx);
        lck_mtx_lock(g.mtx);
        lck_mtx_unlock(g.mtx);
        lck_mtx_unlock(g.mtx);
        return 0;
    case CC_OPT_REFUSE_STOP:
        if (copy_in(data, len, v) != 0 || v > 1)
            return EINVAL;
        lck_mtx_lock(g.mtx);
        g.refuse_stop = v == 1;
        lck_mtx_unlock(g.mtx);
        return 0;
    case CC_OPT_LOCK_OPS: return cmd_lock_ops(c, data, len);
    case CC_OPT_FREE_MISMATCH: return cmd_free_mismatch(data, len);
    case CC_OPT_TAGFREE_LIVE: return cmd_tagfree_live(c, data, len);
    case CC_OPT_ALLOC_SERIES: return cmd_alloc_series(c, data, len);
    case CC_OPT_MSLEEP: return cmd_msleep(c, data, len);
    case CC_OPT_WAKEUP: return cmd_wakeup(c);
    case CC_OPT_PAGEABLE_NOBLOCK: return cmd_pageable_noblock(c);
    case CC_OPT_TCALL: return cmd_tcall(c, data, len);
    default: return ENOPROTOOPT;
    }
}

// Copies `out` to the caller's buffer if it fits.
errno_t reply(const void *out, size_t size, void *data, size_t *len)
{
    if (data == nullptr || *len < size)
        return EINVAL;
    memcpy(data, out, size);
    *len = size;
    return 0;
}

errno_t contract_getopt(kern_ctl_ref, u_int32_t, void *unitinfo, int opt, void *data, size_t *len)
{
    Client *c = client_of(unitinfo);
    if (c == nullptr)
        return EINVAL;
    switch (opt) {
    case CC_OPT_RESULT: {
        lck_mtx_lock(g.mtx);
        const cc_result r = c->result;
        lck_mtx_unlock(g.mtx);
        return reply(&r, sizeof r, data, len);
    }
    case CC_OPT_SPACE: {
        cc_space_io io;
        if (data == nullptr || *len < sizeof io)
            return EINVAL;
        memcpy(&io, data, sizeof io); // the caller's buffer was copied in first
        kern_ctl_ref ref;
        if (!ref_of_slot(io.slot, ref))
            return EINVAL;
        size_t space = 0;
        io.err = ctl_getenqueuespace(ref, io.unit == 0 ? c->unit : io.unit, &space);
        io.space = space;
        return reply(&io, sizeof io, data, len);
    }
    case CC_OPT_WHOAMI: {
        const cc_whoami w = {c->unit, c->id, c->token};
        return reply(&w, sizeof w, data, len);
    }
    case CC_OPT_OBSERVED: {
        lck_mtx_lock(g.mtx);
        const cc_observed o = g.obs;
        lck_mtx_unlock(g.mtx);
        return reply(&o, sizeof o, data, len);
    }
    case CC_OPT_SIZE_PROBE:
        if (data == nullptr) {
            lck_mtx_lock(g.mtx);
            ++g.obs.probe_null_calls;
            lck_mtx_unlock(g.mtx);
            *len = CC_SIZE_PROBE_LEN;
            return 0;
        }
        if (*len < CC_SIZE_PROBE_LEN)
            return EINVAL;
        memset(data, CC_SIZE_PROBE_FILL, CC_SIZE_PROBE_LEN);
        *len = CC_SIZE_PROBE_LEN;
        return 0;
    case CC_OPT_OVERSIZE:
        if (data == nullptr)
            return EINVAL;
        *len += CC_OVERSIZE_EXTRA; // a kext bug on purpose: XNU panics
        return 0;
    case CC_OPT_SLEEPERS: {
        lck_mtx_lock(g.mtx);
        const uint32_t n = g.sleepers;
        lck_mtx_unlock(g.mtx);
        return reply(&n, sizeof n, data, len);
    }
    case CC_OPT_CLOCK: return get_clock(data, len);
    case CC_OPT_TCALL_STATE: {
        lck_mtx_lock(g.mtx);
        cc_tcall_state st = g.tc;
        lck_mtx_unlock(g.mtx);
        clock_get_uptime(&st.now_ns);
        return reply(&st, sizeof st, data, len);
    }
    default: return ENOPROTOOPT;
    }
}

void teardown()
{
    if (g.lk_spin != nullptr)
        lck_spin_free(g.lk_spin, g.grp);
    if (g.lk_rw != nullptr)
        lck_rw_free(g.lk_rw, g.grp);
    if (g.lk_mtx != nullptr)
        lck_mtx_free(g.lk_mtx, g.grp);
    if (g.mtx != nullptr)
        lck_mtx_free(g.mtx, g.grp);
    if (g.attr != nullptr)
        lck_attr_free(g.attr);
    if (g.grp != nullptr)
        lck_grp_free(g.grp);
    if (g.grp_attr != nullptr)
        lck_grp_attr_free(g.grp_attr);
    // A tag with live blocks cannot be freed; the leak report names both.
    if (g.tag != nullptr && !g.leaked)
        OSMalloc_Tagfree(g.tag);
    memset(&g, 0, sizeof g);
}

} // namespace

extern "C" kern_return_t contract_start(kmod_info_t *, void *)
{
    memset(&g, 0, sizeof g);
    g.obs.dereg_in_disconnect = CC_NOT_RUN;
    for (uint32_t i = 0; i < CC_EVENT_VECTORS; ++i)
        for (uint32_t j = 0; j < CC_EVENT_VECTOR_MAX; ++j)
            g_vectors[i][j] = static_cast<uint8_t>(((i + 1) << 4) | (j & 0xf));

    g.tag = OSMalloc_Tagalloc(CC_BUNDLE_ID, OSMT_DEFAULT);
    g.grp_attr = lck_grp_attr_alloc_init();
    g.grp = g.grp_attr != nullptr ? lck_grp_alloc_init(CC_BUNDLE_ID, g.grp_attr) : nullptr;
    g.attr = lck_attr_alloc_init();
    g.mtx = g.grp != nullptr && g.attr != nullptr ? lck_mtx_alloc_init(g.grp, g.attr) : nullptr;
    if (g.mtx != nullptr) {
        g.lk_mtx = lck_mtx_alloc_init(g.grp, g.attr);
        g.lk_rw = lck_rw_alloc_init(g.grp, g.attr);
        g.lk_spin = lck_spin_alloc_init(g.grp, g.attr);
    }
    if (g.tag == nullptr || g.mtx == nullptr || g.lk_mtx == nullptr || g.lk_rw == nullptr || g.lk_spin == nullptr) {
        teardown();
        return KERN_FAILURE;
    }
    errno_t err = kev_vendor_code_find(CC_VENDOR, &g.obs.vendor_code);
    if (err == 0) {
        struct kern_ctl_reg reg;
        memset(&reg, 0, sizeof reg);
        strlcpy(reg.ctl_name, CC_CONTROL_NAME, sizeof reg.ctl_name);
        reg.ctl_recvsize = CC_RECVSIZE;
        reg.ctl_connect = contract_connect;
        reg.ctl_disconnect = contract_disconnect;
        reg.ctl_setopt = contract_setopt;
        reg.ctl_getopt = contract_getopt;
        err = ctl_register(&reg, &g.main_ref);
        g.obs.main_id = reg.ctl_id;
    }
    if (err != 0) {
        os_log_error(OS_LOG_DEFAULT, CC_BUNDLE_ID ": start failed: errno %d", err);
        teardown();
        return KERN_FAILURE;
    }
    g.main_registered = true;
    os_log(OS_LOG_DEFAULT, CC_BUNDLE_ID ": started, control id %u", g.obs.main_id);
    return KERN_SUCCESS;
}

extern "C" kern_return_t contract_stop(kmod_info_t *, void *)
{
    lck_mtx_lock(g.mtx);
    const bool refuse = g.refuse_stop;
    lck_mtx_unlock(g.mtx);
    if (refuse) {
        os_log_error(OS_LOG_DEFAULT, CC_BUNDLE_ID ": refusing to stop (CC_OPT_REFUSE_STOP)");
        return KERN_FAILURE;
    }
    for (uint32_t i = 1; i <= CC_MAX_EXTRA; ++i) {
        lck_mtx_lock(g.mtx);
        const bool registered = g.extra[i].registered;
        const kern_ctl_ref ref = g.extra[i].ref;
        lck_mtx_unlock(g.mtx);
        if (!registered)
            continue;
        if (ctl_deregister(ref) != 0) {
            os_log_error(OS_LOG_DEFAULT, CC_BUNDLE_ID ": refusing to stop: extra control %u busy", i);
            return KERN_FAILURE;
        }
        lck_mtx_lock(g.mtx);
        g.extra[i].registered = false;
        lck_mtx_unlock(g.mtx);
    }
    lck_mtx_lock(g.mtx);
    const bool main_registered = g.main_registered;
    lck_mtx_unlock(g.mtx);
    if (main_registered) {
        const errno_t err = ctl_deregister(g.main_ref);
        if (err != 0) {
            os_log_error(OS_LOG_DEFAULT, CC_BUNDLE_ID ": refusing to stop: errno %d (clients connected)", err);
            return KERN_FAILURE;
        }
    }
    // The main control is gone, so no client can be connected and no
    // callback can run from here on. The thread call may still be pending.
    if (!tcall_quiesce()) {
        os_log_error(OS_LOG_DEFAULT, CC_BUNDLE_ID ": thread call still pending at stop");
        return KERN_FAILURE;
    }
    teardown();
    os_log(OS_LOG_DEFAULT, CC_BUNDLE_ID ": stopped");
    return KERN_SUCCESS;
}

extern "C" {
KMOD_EXPLICIT_DECL(org.kextconf.test.contract, KEXTCONF_KEXT_VERSION, contract_start, contract_stop)
}
