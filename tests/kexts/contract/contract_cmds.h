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
    CC_OPT__COUNT                   /* new options go above this line */
};

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
