/*
 * The command set of the contract test kext (org.kextconf.test.contract),
 * shared by the kext (kernel domain) and kextsim's fidelity tests (user space).
 *
 * The kext exists to make kextsim show each XNU rule it reproduces: a test
 * sends a command with setsockopt(SYSPROTO_CONTROL, CC_OPT_*), the kext calls
 * the KPI, and the errno the KPI returned comes back through getsockopt
 * CC_OPT_RESULT, in Darwin's numbering and untranslated. A setsockopt itself
 * fails only when the command is malformed (EINVAL) or unknown (ENOPROTOOPT).
 *
 * Plain C, fixed-width types, every size pinned below.
 */
#ifndef KEXTCONF_TEST_CONTRACT_CMDS_H
#define KEXTCONF_TEST_CONTRACT_CMDS_H

#include <stdint.h>

#ifdef __cplusplus
#define CC_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define CC_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define CC_BUNDLE_ID "org.kextconf.test.contract"
/* The main control: not privileged, SOCK_DGRAM, a small receive buffer so a
 * test reaches ENOBUFS with a few kilobytes. */
#define CC_CONTROL_NAME CC_BUNDLE_ID
#define CC_RECVSIZE 4096u
/* Vendor string of the kext's kern_events. */
#define CC_VENDOR CC_BUNDLE_ID

/* Extra controls a test may register (slots 1..CC_MAX_EXTRA; slot 0 is the
 * main control). They have ctl_connect and ctl_disconnect only, so their
 * clients get ENOTSUP from setsockopt and getsockopt. */
#define CC_MAX_EXTRA 8u
/* Longest enqueue one command carries. */
#define CC_MAX_ENQUEUE 16384u
/* Bytes per kern_event data vector the kext can post (5 vectors). */
#define CC_EVENT_VECTOR_MAX 256u
#define CC_EVENT_VECTORS 5u
/* CC_OPT_SIZE_PROBE: the size it asks for when handed a NULL buffer, and the
 * byte it fills a real buffer with. */
#define CC_SIZE_PROBE_LEN 40u
#define CC_SIZE_PROBE_FILL 0x5a
/* CC_OPT_OVERSIZE claims this many bytes more than the caller's buffer. */
#define CC_OVERSIZE_EXTRA 8u
/* cc_observed.dereg_in_disconnect before the armed ctl_deregister ran. */
#define CC_NOT_RUN (-1)

/* Option numbers (level SYSPROTO_CONTROL). */
enum cc_opt {
    CC_OPT_ENQUEUE = 1,             /* set: cc_enqueue_req + len bytes; result.err = ctl_enqueuedata's */
    CC_OPT_POST_EVENT = 2,          /* set: cc_event_req; result.err = kev_msg_post's, result.id = vendor used */
    CC_OPT_REGISTER = 3,            /* set: cc_register_req; result: err, id, sendsize, recvsize, slot */
    CC_OPT_DEREGISTER = 4,          /* set: uint32_t slot (0 = main control); result.err = ctl_deregister's */
    CC_OPT_DEREG_IN_DISCONNECT = 5, /* set: no data; the next ctl_disconnect calls ctl_deregister(main) */
    CC_OPT_FAIL_NEXT_CONNECT = 6,   /* set: int32_t Darwin errno the next ctl_connect returns */
    CC_OPT_LEAK = 7,                /* set: uint32_t size; OSMalloc a block and never free it */
    CC_OPT_LOCK_TWICE = 8,          /* set: no data; lck_mtx_lock the same mutex twice (kextsim must abort) */
    CC_OPT_REFUSE_STOP = 9,         /* set: uint32_t 1 = the stop routine fails, 0 = normal */
    CC_OPT_RESULT = 10,             /* get: cc_result of this client's last set command */
    CC_OPT_SPACE = 11,              /* get: in/out cc_space_io; ctl_getenqueuespace */
    CC_OPT_WHOAMI = 12,             /* get: cc_whoami, what ctl_connect saw */
    CC_OPT_OBSERVED = 13,           /* get: cc_observed, what the kext saw across clients */
    CC_OPT_SIZE_PROBE = 14,         /* get: NULL buffer -> *len = CC_SIZE_PROBE_LEN; else that many fill bytes */
    CC_OPT_OVERSIZE = 15,           /* get: *len = buffer size + CC_OVERSIZE_EXTRA (kextsim must abort) */
    /* Locks, memory, time, threads (kextsim_kpi_test.cpp). */
    CC_OPT_LOCK_OPS = 16,         /* set: cc_lock_ops; result.id = ops that ran, result.sendsize = ops that were TRUE */
    CC_OPT_FREE_MISMATCH = 17,    /* set: cc_free_req; OSMalloc(alloc_size), OSFree(free_size) (size must match) */
    CC_OPT_TAGFREE_LIVE = 18,     /* set: uint32_t size; OSMalloc from a new tag CC_LIVE_TAG, OSMalloc_Tagfree it,
                                     then OSFree the block; result.err 0 */
    CC_OPT_ALLOC_SERIES = 19,     /* set: uint32_t n (1..CC_MAX_SERIES); n OSMalloc(16) calls, all freed after;
                                     result.id = 1-based index of the first NULL (0: none), result.sendsize = NULLs */
    CC_OPT_MSLEEP = 20,           /* set: cc_msleep_req; msleep on the kext's channel with the kext mutex;
                                     result.err = msleep's, result.id = microseconds asleep */
    CC_OPT_WAKEUP = 21,           /* set: no data; wakeup(the kext's channel) under the kext mutex;
                                     result.id = threads that were in CC_OPT_MSLEEP */
    CC_OPT_SLEEPERS = 22,         /* get: uint32_t threads now in CC_OPT_MSLEEP */
    CC_OPT_CLOCK = 23,            /* get: in/out cc_clock_io */
    CC_OPT_PAGEABLE_NOBLOCK = 24, /* set: no data; OSMalloc_noblock(16) from a new OSMT_PAGEABLE tag;
                                     result.id = 1 if it returned a block (freed again) */
    CC_OPT_TCALL = 25,            /* set: cc_tcall_req; one thread call KPI call on the kext's call;
                                     result.err = its boolean_t (ALLOC: 1 if a call was made) */
    CC_OPT_TCALL_STATE = 26,      /* get: cc_tcall_state */
    CC_OPT__COUNT                 /* new options go above this line */
};

/* CC_OPT_LOCK_OPS: up to CC_MAX_LOCK_OPS lock and allocation calls, run in
 * order on the calling client's thread (a client's commands all run on one
 * thread, so a lock taken by one command is still held by the next). The
 * locks are the kext's test locks, never the mutex guarding its own state:
 * one lck_mtx, one lck_rw and one lck_spin, shared by every client. A lock
 * left held when the kext stops makes its lck_*_free abort: release them.
 *
 * An op may carry a condition: CC_LK_IF_TRUE runs it only when the last
 * conditional-result op that ran (the tries, the upgrade, the allocations)
 * returned TRUE / a block, CC_LK_IF_FALSE only when it returned FALSE / NULL.
 * Blocks from CC_LK_OSMALLOC* are freed when the command ends, after every op. */
#define CC_MAX_LOCK_OPS 8u
enum cc_lock_op {
    CC_LK_MTX_LOCK = 1,
    CC_LK_MTX_UNLOCK = 2,
    CC_LK_MTX_ASSERT_OWNED = 3,    /* lck_mtx_assert(LCK_MTX_ASSERT_OWNED) */
    CC_LK_MTX_ASSERT_NOTOWNED = 4, /* lck_mtx_assert(LCK_MTX_ASSERT_NOTOWNED) */
    CC_LK_RW_LOCK_SHARED = 5,
    CC_LK_RW_LOCK_EXCLUSIVE = 6,
    CC_LK_RW_UNLOCK_SHARED = 7,
    CC_LK_RW_UNLOCK_EXCLUSIVE = 8,
    CC_LK_RW_TRY_SHARED = 9,     /* lck_rw_try_lock(LCK_RW_TYPE_SHARED) */
    CC_LK_RW_TRY_EXCLUSIVE = 10, /* lck_rw_try_lock(LCK_RW_TYPE_EXCLUSIVE) */
    CC_LK_RW_UPGRADE = 11,       /* lck_rw_lock_shared_to_exclusive */
    CC_LK_RW_DOWNGRADE = 12,     /* lck_rw_lock_exclusive_to_shared */
    CC_LK_SPIN_LOCK = 13,
    CC_LK_SPIN_UNLOCK = 14,
    CC_LK_OSMALLOC = 15,         /* OSMalloc(CC_LK_ALLOC_SIZE): may block */
    CC_LK_OSMALLOC_NOBLOCK = 16, /* OSMalloc_noblock(CC_LK_ALLOC_SIZE) */
    CC_LK_FREE_HELD_MTX = 17     /* a new lck_mtx, locked, then lck_mtx_free'd (a kext bug) */
};
#define CC_LK_OP_MASK 0xffu
#define CC_LK_IF_TRUE 0x100u
#define CC_LK_IF_FALSE 0x200u
#define CC_LK_ALLOC_SIZE 64u

struct cc_lock_ops {
    uint32_t count;
    uint32_t ops[CC_MAX_LOCK_OPS]; /* cc_lock_op, optionally | CC_LK_IF_* */
};
CC_STATIC_ASSERT(sizeof(struct cc_lock_ops) == 36, "cc_lock_ops layout");

struct cc_free_req {
    uint32_t alloc_size;
    uint32_t free_size;
};
CC_STATIC_ASSERT(sizeof(struct cc_free_req) == 8, "cc_free_req layout");

/* The tag CC_OPT_TAGFREE_LIVE makes. */
#define CC_LIVE_TAG CC_BUNDLE_ID ".live"
/* Most allocations one CC_OPT_ALLOC_SERIES makes. */
#define CC_MAX_SERIES 64u

/* msleep(chan, kext mutex, PDROP if pdrop, "cc", timeout_ms ms or NULL).
 * timeout_ms CC_MSLEEP_NO_TIMEOUT passes ts = NULL; 0 passes a zero timespec.
 * On return the kext asserts (lck_mtx_assert) that it holds the mutex again,
 * or with PDROP that it does not. */
#define CC_MSLEEP_NO_TIMEOUT 0xffffffffu
struct cc_msleep_req {
    uint32_t timeout_ms;
    uint32_t pdrop;
};
CC_STATIC_ASSERT(sizeof(struct cc_msleep_req) == 8, "cc_msleep_req layout");

/* CC_OPT_CLOCK: in sleep_ms; the kext reads abs_before = mach_absolute_time(),
 * clock_get_uptime(&uptime_before), msleeps sleep_ms on a channel nobody
 * wakes (sleep_err = msleep's return), clock_get_uptime(&uptime_after),
 * abs_after = mach_absolute_time(); elapsed_ns is
 * absolutetime_to_nanoseconds(abs_after - abs_before) and roundtrip_abs
 * nanoseconds_to_absolutetime(elapsed_ns). */
struct cc_clock_io {
    uint32_t sleep_ms;
    int32_t sleep_err;
    uint64_t abs_before;
    uint64_t uptime_before;
    uint64_t uptime_after;
    uint64_t abs_after;
    uint64_t elapsed_ns;
    uint64_t roundtrip_abs;
};
CC_STATIC_ASSERT(sizeof(struct cc_clock_io) == 56, "cc_clock_io layout");

/* ctl_enqueuedata(control of `slot`, unit, data, len, flags). unit 0 means the
 * caller's own unit (main control only). The len data bytes follow. */
struct cc_enqueue_req {
    uint32_t slot;
    uint32_t unit;
    uint32_t flags; /* CTL_DATA_* */
    uint32_t len;
};
CC_STATIC_ASSERT(sizeof(struct cc_enqueue_req) == 16, "cc_enqueue_req layout");

/* kev_msg_post with sizes[i] bytes in vector i (the list ends at the first 0,
 * as XNU reads it). Byte j of vector i is ((i + 1) << 4) | (j & 0xf).
 * vendor 0 posts under the kext's own vendor code; anything else is posted as
 * given (e.g. KEV_VENDOR_APPLE, which kev_msg_post must refuse). */
struct cc_event_req {
    uint32_t vendor;
    uint32_t kev_class;
    uint32_t kev_subclass;
    uint32_t event_code;
    uint32_t sizes[CC_EVENT_VECTORS];
};
CC_STATIC_ASSERT(sizeof(struct cc_event_req) == 36, "cc_event_req layout");

/* ctl_register of an extra control with the fields given; with
 * null_connect the registration has no ctl_connect (EINVAL). The name is
 * copied as is: a test may fill all 96 bytes without a NUL. */
struct cc_register_req {
    char name[96];
    uint32_t flags; /* CTL_FLAG_* */
    uint32_t sendsize;
    uint32_t recvsize;
    uint32_t null_connect;
};
CC_STATIC_ASSERT(sizeof(struct cc_register_req) == 112, "cc_register_req layout");

/* CC_OPT_TCALL: the kext keeps one thread call. Its function counts runs,
 * notes when each began, and sleeps `run_ms` (msleep with a timeout) so a
 * test can act while it runs. */
enum cc_tcall_op {
    CC_TC_ALLOC = 1,         /* thread_call_allocate_with_options(arg = options) */
    CC_TC_ENTER = 2,         /* thread_call_enter1(param1 = arg) */
    CC_TC_ENTER_DELAYED = 3, /* thread_call_enter1_delayed(param1 = arg2, deadline = now + arg ms) */
    CC_TC_CANCEL = 4,        /* thread_call_cancel */
    CC_TC_FREE = 5,          /* thread_call_free; on TRUE the kext forgets the call */
    CC_TC_RUN_MS = 6,        /* each run sleeps arg ms from now on */
    CC_TC_FORGET = 7         /* drop the call without freeing it (a leak on purpose) */
};
struct cc_tcall_req {
    uint32_t op; /* enum cc_tcall_op */
    uint32_t arg;
    uint32_t arg2;
    uint32_t reserved;
};
CC_STATIC_ASSERT(sizeof(struct cc_tcall_req) == 16, "cc_tcall_req layout");
struct cc_tcall_state {
    uint32_t runs;        /* runs begun */
    uint32_t running;     /* runs in progress now */
    uint32_t max_running; /* most runs in progress at once */
    uint32_t last_param1; /* param1 of the last run */
    uint64_t last_run_ns; /* mach_absolute_time (ns in kextsim) when the last run began */
    uint64_t now_ns;      /* mach_absolute_time when this state was read */
};
CC_STATIC_ASSERT(sizeof(struct cc_tcall_state) == 32, "cc_tcall_state layout");

struct cc_result {
    int32_t err;       /* the KPI's return value (Darwin errno), 0 on success */
    uint32_t id;       /* REGISTER: written-back ctl_id; POST_EVENT: vendor code used */
    uint32_t sendsize; /* REGISTER: written-back ctl_sendsize */
    uint32_t recvsize; /* REGISTER: written-back ctl_recvsize */
    uint32_t slot;     /* REGISTER: slot of the new control */
    uint32_t reserved;
};
CC_STATIC_ASSERT(sizeof(struct cc_result) == 24, "cc_result layout");

/* in: slot, unit (0 = the caller's own); out: err and space. */
struct cc_space_io {
    uint32_t slot;
    uint32_t unit;
    int32_t err;
    uint32_t reserved;
    uint64_t space;
};
CC_STATIC_ASSERT(sizeof(struct cc_space_io) == 24, "cc_space_io layout");

struct cc_whoami {
    uint32_t unit;  /* sac->sc_unit as ctl_connect saw it */
    uint32_t id;    /* sac->sc_id */
    uint64_t token; /* unique per ctl_connect call, stored in unitinfo */
};
CC_STATIC_ASSERT(sizeof(struct cc_whoami) == 16, "cc_whoami layout");

struct cc_observed {
    uint32_t main_id;                 /* written back by ctl_register at start */
    uint32_t vendor_code;             /* from kev_vendor_code_find(CC_VENDOR) */
    uint32_t connects;                /* ctl_connect calls, failed ones included */
    uint32_t disconnects;             /* ctl_disconnect calls */
    int32_t dereg_in_disconnect;      /* ctl_deregister(main) from ctl_disconnect, or CC_NOT_RUN */
    uint32_t failed_connect_unit;     /* unit of the last ctl_connect that failed on purpose */
    uint64_t failed_connect_token;    /* its unitinfo's token */
    uint32_t failed_disconnect_unit;  /* unit of the ctl_disconnect that got that unitinfo */
    uint32_t probe_null_calls;        /* CC_OPT_SIZE_PROBE calls with data == NULL */
    uint64_t failed_disconnect_token; /* token of the unitinfo that ctl_disconnect got */
};
CC_STATIC_ASSERT(sizeof(struct cc_observed) == 48, "cc_observed layout");

#ifdef __cplusplus
}
#endif

#endif /* KEXTCONF_TEST_CONTRACT_CMDS_H */
