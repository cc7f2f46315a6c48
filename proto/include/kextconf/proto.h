/*
 * kextconf contract, version 2: everything that crosses between a kext built on
 * the kextconf kernel library and user space (kextconfd, kextconfctl).
 *
 * Plain C that compiles in the macOS kernel, in kextsim's kext domain and in
 * user space: fixed-width types only, natural alignment, every size and offset
 * pinned by a static assertion below. Changing this file changes the contract;
 * bump KC_PROTO_VERSION when an existing layout or meaning changes.
 *
 * Transport rules (DESIGN.md):
 *  - client -> kext: setsockopt(fd, SYSPROTO_CONTROL, opt, ...) and getsockopt
 *    with an input buffer (the kernel copies the caller's buffer in first);
 *  - kext -> client: getsockopt output and ctl_enqueuedata(..., CTL_DATA_EOR);
 *  - kext -> everyone: kern_event messages under the vendor string = bundle id.
 * No ctl_send, no mbuf KPI.
 *
 * Byte order is the host's (all supported targets are little-endian).
 */
#ifndef KEXTCONF_PROTO_H
#define KEXTCONF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define KC_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
extern "C" {
#else
#define KC_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* A kext answers hello with the highest version it speaks and the lowest it
 * still accepts; the two sides use the lower of their highest versions.
 * Version 1 is the first published contract. Version 2 adds, without changing
 * any version 1 layout or meaning: the schema hash in the hello reply
 * (kc_hello_reply_v2, sent to a client that asks with proto_version >= 2 and
 * room for it), the batched describe (KC_OPT_DESCRIBE_ALL) and several values
 * per KC_OPT_TXN_SET. A version 1 client never sees any of them. */
#define KC_PROTO_VERSION 2u
#define KC_PROTO_MIN_VERSION 1u

/* String field sizes, each counting the terminating NUL. */
#define KC_NAME_MAX 64        /* tunable name: [a-z0-9_.] */
#define KC_UNIT_MAX 16        /* "ms", "bytes", "" */
#define KC_HELP_MAX 128       /* one line of help */
#define KC_ENUM_NAMES_MAX 128 /* enum value names separated by '|', index = value */
#define KC_DEFAULT_STR_MAX 128
#define KC_VERSION_STR_MAX 32
#define KC_BUNDLE_ID_MAX 64

/* Largest option buffer either side sends or accepts in one setsockopt or
 * getsockopt. Lists larger than this travel in chunks of whole elements
 * (kc_value_hdr.offset / kc_get_req.offset); a string must fit one option.
 * XNU's own bound is far larger: ctl_ctloutput (bsd/kern/kern_control.c)
 * refuses only sopt_valsize > copysize_limit_panic (64 MiB, osfmk/x86_64 and
 * osfmk/arm64 copyio.c) with EINVAL, and kalloc_data()s a zeroed kernel copy of
 * the whole option (Z_WAITOK) for every call, set or get. 8 KiB keeps that
 * per-call allocation small and the socket unlocked only briefly, at the
 * cost of ~100 options per 100,000-entry int64 list. No reply is longer (a bigger buffer gets a KC_OPT_MAX_LEN chunk).
 */
#define KC_OPT_MAX_LEN 8192u

/* Suffix of the read-only control anyone may open: "<bundle-id>.query". The
 * admin control is named exactly "<bundle-id>" and is CTL_FLAG_PRIVILEGED. */
#define KC_QUERY_SUFFIX ".query"

/* Option numbers for SYSPROTO_CONTROL get/setsockopt. */
enum kc_opt {
    KC_OPT_HELLO = 1,         /* getsockopt  in: kc_hello_req (optional)  out: kc_hello_reply */
    KC_OPT_DESCRIBE = 2,      /* getsockopt  in: kc_describe_req          out: kc_tunable_desc */
    KC_OPT_GET = 3,           /* getsockopt  in: kc_get_req               out: kc_value_hdr + payload */
    KC_OPT_STATE = 4,         /* getsockopt                               out: kc_state */
    KC_OPT_TXN_BEGIN = 5,     /* setsockopt  kc_txn_begin (admin only) */
    KC_OPT_TXN_SET = 6,       /* setsockopt  kc_value_hdr + payload (admin only) */
    KC_OPT_TXN_COMMIT = 7,    /* getsockopt  in: anything  out: kc_commit_reply (admin only) */
    KC_OPT_TXN_ABORT = 8,     /* setsockopt  no data (admin only) */
    KC_OPT_LAST_ERROR = 9,    /* getsockopt                               out: kc_error_detail */
    KC_OPT_COUNTERS = 10,     /* getsockopt                               out: kc_counters */
    KC_OPT_DESCRIBE_ALL = 11, /* v2 getsockopt  in: kc_describe_req  out: kc_describe_batch + kc_desc_records */
    KC_OPT__COUNT             /* new options go directly above this line */
};

/* Tunable value types. */
enum kc_type {
    KC_TYPE_BOOL = 1,        /* payload: int64 0 or 1 */
    KC_TYPE_INT64 = 2,       /* payload: int64 within [min.i, max.i] */
    KC_TYPE_UINT64 = 3,      /* payload: uint64 within [min.u, max.u] */
    KC_TYPE_ENUM = 4,        /* payload: int64 index into enum_names */
    KC_TYPE_STRING = 5,      /* payload: bytes, no NUL, length <= max_count */
    KC_TYPE_INT64_LIST = 6,  /* payload: count int64, each within [min.i, max.i] */
    KC_TYPE_STRING_LIST = 7, /* payload: count NUL-terminated strings, each <= max.u bytes */
    KC_TYPE__COUNT           /* new types go directly above this line */
};

/* Tunable flags (kc_tunable_desc.flags). */
#define KC_TF_LOAD_ONLY 0x1u /* not writable at run time; takes effect at next kext load */
#define KC_TF_HIDDEN 0x2u    /* not visible through the query control */
#define KC_TF__ALL 0x3u

/* Hello capabilities (kc_hello_reply.capabilities). */
#define KC_CAP_TRANSACTIONS 0x1ull
#define KC_CAP_EVENTS 0x2ull
#define KC_CAP_QUERY_CONTROL 0x4ull
#define KC_CAP_BATCH 0x8ull /* v2: KC_OPT_DESCRIBE_ALL and several values per KC_OPT_TXN_SET */

/* Why the kext refused the last request on this connection (kc_error_detail). */
enum kc_reason {
    KC_R_NONE = 0,
    KC_R_BAD_LENGTH = 1, /* option buffer too short, too long or inconsistent */
    KC_R_UNKNOWN_OPTION = 2,
    KC_R_UNKNOWN_TUNABLE = 3,
    KC_R_TYPE_MISMATCH = 4,
    KC_R_OUT_OF_RANGE = 5,
    KC_R_TOO_LONG = 6, /* string or list longer than max_count */
    KC_R_BAD_ENUM = 7,
    KC_R_BAD_STRING = 8,       /* embedded NUL or bad list encoding */
    KC_R_STALE_GENERATION = 9, /* begin named a generation that is not current */
    KC_R_NO_TRANSACTION = 10,
    KC_R_TRANSACTION_OPEN = 11,
    KC_R_NOT_PERMITTED = 12, /* write attempted through the query control */
    KC_R_LOAD_ONLY = 13,
    KC_R_NO_MEMORY = 14,
    KC_R_BAD_OFFSET = 15, /* list chunk out of order */
    KC_R_INCOMPLETE = 16, /* commit with a list missing chunks */
    KC_R__COUNT           /* new reasons go directly above this line */
};

/* A 64-bit scalar whose interpretation follows the tunable's type. */
union kc_scalar {
    int64_t i;
    uint64_t u;
};

struct kc_hello_req {
    uint32_t proto_version; /* highest version the client speaks */
    uint32_t reserved;
};

struct kc_hello_reply {
    uint32_t proto_version;
    uint32_t min_proto_version;
    uint64_t capabilities;
    uint32_t tunable_count;
    uint32_t max_option_len; /* KC_OPT_MAX_LEN of the kext */
    char kext_version[KC_VERSION_STR_MAX];
    char bundle_id[KC_BUNDLE_ID_MAX];
};

/* Version 2's hello reply: version 1's, then the hash of the tunable table
 * (kc_schema_hash over every tunable the control describes, in index order),
 * so a client that saved the table need not describe it again. */
struct kc_hello_reply_v2 {
    struct kc_hello_reply v1;
    uint64_t schema_hash;
};

struct kc_describe_req {
    uint32_t index; /* KC_OPT_DESCRIBE: the tunable; KC_OPT_DESCRIBE_ALL: the first one wanted */
    uint32_t reserved;
};

/* A tunable as the kext describes it. By type:
 *   bool, enum:   min/max 0..1 / 0..names-1, def the default;
 *   int64/uint64: [min, max] in min.i/max.i or min.u/max.u, def the default;
 *   string:       max_count = most bytes, def_string the default;
 *   int64_list:   max_count = most entries, each entry in [min.i, max.i];
 *   string_list:  max_count = most entries, max.u = most bytes of one entry
 *                 (without its NUL; below KC_OPT_MAX_LEN - 24 so an entry
 *                 fits one option), min.u = 0.
 * Lists always default to empty (def = 0, def_string ""). */
struct kc_tunable_desc {
    uint32_t index;
    uint32_t type;      /* enum kc_type */
    uint32_t flags;     /* KC_TF_* */
    uint32_t max_count; /* string: max bytes; lists: max entries; else 0 */
    union kc_scalar min;
    union kc_scalar max; /* string_list: max.u = longest entry in bytes */
    union kc_scalar def; /* default of a scalar; 0 for strings and lists */
    char name[KC_NAME_MAX];
    char unit[KC_UNIT_MAX];
    char help[KC_HELP_MAX];
    char enum_names[KC_ENUM_NAMES_MAX];
    char def_string[KC_DEFAULT_STR_MAX];
};

/* KC_OPT_DESCRIBE_ALL (v2): the table from kc_describe_req.index on, as many
 * whole records as fit the caller's buffer (at most KC_OPT_MAX_LEN), tunables
 * hidden from this control skipped. The client asks again from `next` until
 * next == total; a buffer too small for one record is ERANGE (KC_R_BAD_LENGTH),
 * an index above total KC_R_BAD_OFFSET. */
struct kc_describe_batch {
    uint32_t first; /* the index asked for */
    uint32_t count; /* records that follow */
    uint32_t next;  /* where to continue; == total when the table is done */
    uint32_t total; /* tunables in the table */
};

/* One descriptor in a batch: kc_tunable_desc without its padding. The fixed
 * part is followed by the five strings' bytes back to back (no NULs) in this
 * order: name, unit, help, enum_names, def_string; then zero bytes up to the
 * next multiple of 8 (KC_DESC_RECORD_SIZE). */
struct kc_desc_record {
    uint32_t index;
    uint32_t type;
    uint32_t flags;
    uint32_t max_count;
    union kc_scalar min;
    union kc_scalar max;
    union kc_scalar def;
    uint8_t name_len; /* < KC_NAME_MAX */
    uint8_t unit_len; /* < KC_UNIT_MAX */
    uint8_t help_len; /* < KC_HELP_MAX */
    uint8_t enum_names_len;
    uint8_t def_string_len;
    uint8_t reserved[3];
};
#define KC_ALIGN8(n) (((n) + 7u) & ~(size_t)7u)
#define KC_DESC_RECORD_SIZE(r)                                                                                         \
    (sizeof(struct kc_desc_record) +                                                                                   \
     KC_ALIGN8((size_t)(r)->name_len + (r)->unit_len + (r)->help_len + (r)->enum_names_len + (r)->def_string_len))

/* KC_OPT_GET of a list returns as many whole elements from `offset` as fit
 * in the caller's buffer (offset == total gives count 0: an empty list, or
 * the end); the reply's count and total tell the client where to continue.
 * offset > total is KC_R_BAD_OFFSET; a buffer too small for the element at
 * offset is ERANGE (KC_R_BAD_LENGTH). Chunks of one read may straddle a
 * commit: a reader compares kc_state.generation before and after. */
struct kc_get_req {
    uint32_t index;
    uint32_t offset; /* lists: first element wanted; else 0 */
};

/* Header of a value, in KC_OPT_GET replies and KC_OPT_TXN_SET requests.
 * Version 2: one TXN_SET may carry several values (or list chunks), each a
 * header and its payload, back to back without padding; the kext stages them
 * in order. A refused one stops there: the values before it stay staged, the
 * transaction stays open and the error names the refused tunable.
 * A list is set in one or more TXN_SETs of whole elements: the first at
 * offset 0 (it replaces the value staged so far and announces `total`,
 * which must be <= max_count, else KC_R_TOO_LONG), each next one at the
 * offset where the previous ended, with the same total (else
 * KC_R_BAD_OFFSET). Commit refuses a list with elements still missing
 * (KC_R_INCOMPLETE). A list the transaction does not set keeps its value. */
struct kc_value_hdr {
    uint32_t index;
    uint32_t type;   /* must equal the tunable's type */
    uint32_t offset; /* lists: index of the first element in this chunk; else 0 */
    uint32_t count;  /* elements (lists), bytes (string) or 1 (scalars) in this chunk */
    uint32_t total;  /* elements or bytes of the whole value */
    uint32_t length; /* payload bytes following this header */
};

struct kc_state {
    uint64_t generation;  /* bumped by every commit; 1 after start */
    uint64_t config_hash; /* kc_hash of the current snapshot */
    uint32_t tunable_count;
    uint32_t event_seq; /* sequence number of the last event posted */
    uint32_t load_id;   /* differs between two loads of the kext */
    uint32_t clients;   /* connected clients, both controls */
};

struct kc_txn_begin {
    uint64_t expected_generation; /* the generation the writer read */
};

struct kc_commit_reply {
    uint64_t generation;
    uint64_t config_hash;
    uint32_t changed; /* tunables whose value changed */
    uint32_t reserved;
};

struct kc_error_detail {
    uint32_t error;  /* Darwin errno of the last failed request, 0 if none */
    uint32_t reason; /* enum kc_reason */
    uint32_t opt;    /* option of that request */
    uint32_t index;  /* tunable concerned, or UINT32_MAX */
};

/* ---- kern_event ----
 * Vendor string: the kext's bundle id (kev_vendor_code_find). Every payload
 * starts with kc_event_hdr; seq starts at 1 for each load and grows by one per
 * event posted or lost, so a gap tells a listener it missed events. */
#define KC_EVENT_CLASS 1u
#define KC_EVENT_SUBCLASS 1u
#define KC_EVENT_PAYLOAD_MAX 200u /* portable kern_event payload limit (MLEN 224 - 24) */

enum kc_event_code {
    KC_EV_STARTED = 1,
    KC_EV_STOPPING = 2,
    KC_EV_APPLIED = 3,
    KC_EV_TUNABLE_CHANGED = 4,     /* one per tunable a commit changed */
    KC_EV_CLIENT_CONNECTED = 5,    /* either control */
    KC_EV_CLIENT_DISCONNECTED = 6, /* either control */
    KC_EV_OVERFLOW = 7,            /* events the kext could not post */
    KC_EV_HEARTBEAT = 8,           /* periodic, with the kext's counters */
    KC_EV__COUNT                   /* new event codes go directly above this line */
};

struct kc_event_hdr {
    uint32_t seq;
    uint32_t load_id;
};

struct kc_ev_started {
    struct kc_event_hdr hdr;
    uint32_t proto_version;
    uint32_t tunable_count;
    uint64_t generation;
    char kext_version[KC_VERSION_STR_MAX];
};

struct kc_ev_stopping {
    struct kc_event_hdr hdr;
    uint64_t generation;
};

struct kc_ev_applied {
    struct kc_event_hdr hdr;
    uint64_t generation;
    uint64_t config_hash; /* 0 if any tunable is hidden (anyone may listen; it covers hidden values): ask the admin
                             control */
    uint32_t changed;
    uint32_t reserved;
};

/* A tunable a commit changed. Hidden tunables are reported by index with an
 * empty name: anyone may listen to kern_events. */
struct kc_ev_tunable_changed {
    struct kc_event_hdr hdr;
    uint64_t generation;
    uint32_t index;
    uint32_t reserved;
    char name[KC_NAME_MAX];
};

/* A client connected to or disconnected from one of the two controls. */
struct kc_ev_client {
    struct kc_event_hdr hdr;
    int32_t pid; /* -1 when unknown */
    uint32_t uid;
    uint32_t unit;
    uint32_t privileged; /* 1: admin control, 0: query control */
    uint32_t clients;    /* connected clients after this change */
    uint32_t reserved;
};

/* Why events were lost (kc_ev_overflow.reason). */
#define KC_OVF_RATE_LIMIT 1u  /* over the kext's event rate limit */
#define KC_OVF_POST_FAILED 2u /* kev_msg_post failed (no memory, no listener room) */

/* Events lost since the last overflow event was posted. Their sequence
 * numbers were consumed, so a listener also sees the gap. */
struct kc_ev_overflow {
    struct kc_event_hdr hdr;
    uint32_t lost;   /* lost since the previous overflow event */
    uint32_t reason; /* KC_OVF_* of the most recent loss */
    uint64_t lost_total;
};

struct kc_ev_heartbeat {
    struct kc_event_hdr hdr;
    uint64_t generation;
    uint64_t requests;
    uint64_t rejections;
    uint64_t commits;
    uint64_t events_posted;
    uint64_t events_dropped;
    uint32_t clients;
    uint32_t interval_ms;
};

/* ---- counters (KC_OPT_COUNTERS; also mirrored under sysctl) ---- */
#define KC_COUNTER_REASONS 32u /* room for kc_reason values, index = reason */

struct kc_counters {
    uint64_t requests;   /* get/setsockopt calls on both controls */
    uint64_t rejections; /* requests refused, all reasons */
    uint64_t commits;    /* successful commits */
    uint64_t aborts;     /* aborted or discarded transactions (incl. disconnects) */
    uint64_t events_posted;
    uint64_t events_dropped;
    uint32_t clients;                      /* connected now, both controls */
    uint32_t clients_peak;                 /* most connected at once since load */
    uint64_t rejected[KC_COUNTER_REASONS]; /* by kc_reason */
};

/* ---- config hash ----
 * FNV-1a 64 over each tunable in index order: u32 index, u32 type, u32 length,
 * then the value's canonical bytes (the TXN_SET payload of the whole value):
 *   bool/int64/uint64/enum: the 8-byte kc_scalar (length 8);
 *   string:      its bytes, no NUL (length = bytes);
 *   int64_list:  the entries as int64, in order (length = 8 * entries);
 *   string_list: each entry followed by its NUL, in order (length = sum of
 *                entry bytes + 1 each; an empty list has length 0).
 * The daemon computes it from the file (codec config_hash), the kext from its
 * snapshot: equal hashes mean the kext holds exactly what the file says. */
#define KC_HASH_INIT 0xcbf29ce484222325ull
#define KC_HASH_PRIME 0x100000001b3ull

static inline uint64_t kc_hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= KC_HASH_PRIME;
    }
    return h;
}

static inline uint64_t kc_hash_value_begin(uint64_t h, uint32_t index, uint32_t type, uint32_t length)
{
    h = kc_hash_bytes(h, &index, sizeof index);
    h = kc_hash_bytes(h, &type, sizeof type);
    return kc_hash_bytes(h, &length, sizeof length);
}

/* ---- tunable table records and the schema hash (v2) ---- */

static inline uint8_t kc_field_len(const char *s, size_t size)
{
    size_t n = 0;
    while (n + 1 < size && s[n] != '\0')
        n++;
    return (uint8_t)n;
}

/* The record of descriptor `d`, header only (lengths filled in). */
static inline struct kc_desc_record kc_desc_record_of(const struct kc_tunable_desc *d)
{
    struct kc_desc_record r;
    unsigned char *z = (unsigned char *)&r;
    for (size_t i = 0; i < sizeof r; i++)
        z[i] = 0;
    r.index = d->index;
    r.type = d->type;
    r.flags = d->flags;
    r.max_count = d->max_count;
    r.min = d->min;
    r.max = d->max;
    r.def = d->def;
    r.name_len = kc_field_len(d->name, sizeof d->name);
    r.unit_len = kc_field_len(d->unit, sizeof d->unit);
    r.help_len = kc_field_len(d->help, sizeof d->help);
    r.enum_names_len = kc_field_len(d->enum_names, sizeof d->enum_names);
    r.def_string_len = kc_field_len(d->def_string, sizeof d->def_string);
    return r;
}

/* Writes `d` as a record at `out`; returns its size, or 0 if more than
 * `room` bytes. */
static inline size_t kc_desc_record_put(const struct kc_tunable_desc *d, unsigned char *out, size_t room)
{
    const struct kc_desc_record r = kc_desc_record_of(d);
    const size_t size = KC_DESC_RECORD_SIZE(&r);
    if (size > room)
        return 0;
    const unsigned char *h = (const unsigned char *)&r;
    size_t at = 0;
    for (size_t i = 0; i < sizeof r; i++)
        out[at++] = h[i];
    const char *fields[5] = {d->name, d->unit, d->help, d->enum_names, d->def_string};
    const uint8_t lens[5] = {r.name_len, r.unit_len, r.help_len, r.enum_names_len, r.def_string_len};
    for (int f = 0; f < 5; f++)
        for (size_t i = 0; i < lens[f]; i++)
            out[at++] = (unsigned char)fields[f][i];
    while (at < size)
        out[at++] = 0;
    return size;
}

/* The schema hash: FNV-1a 64 from KC_HASH_INIT over each described tunable's
 * record in index order, header and string bytes without the padding. */
static inline uint64_t kc_schema_hash_add(uint64_t h, const struct kc_tunable_desc *d)
{
    const struct kc_desc_record r = kc_desc_record_of(d);
    h = kc_hash_bytes(h, &r, sizeof r);
    h = kc_hash_bytes(h, d->name, r.name_len);
    h = kc_hash_bytes(h, d->unit, r.unit_len);
    h = kc_hash_bytes(h, d->help, r.help_len);
    h = kc_hash_bytes(h, d->enum_names, r.enum_names_len);
    return kc_hash_bytes(h, d->def_string, r.def_string_len);
}

/* ---- layout pins ---- */
#define KC_ASSERT_LAYOUT(type, size) KC_STATIC_ASSERT(sizeof(struct type) == (size), #type " size")
#define KC_ASSERT_OFFSET(type, field, off)                                                                             \
    KC_STATIC_ASSERT(offsetof(struct type, field) == (off), #type "." #field " offset")

KC_STATIC_ASSERT(sizeof(union kc_scalar) == 8, "kc_scalar size");
KC_ASSERT_LAYOUT(kc_hello_req, 8);
KC_ASSERT_OFFSET(kc_hello_req, proto_version, 0);
KC_ASSERT_OFFSET(kc_hello_req, reserved, 4);
KC_ASSERT_LAYOUT(kc_hello_reply, 120);
KC_ASSERT_OFFSET(kc_hello_reply, proto_version, 0);
KC_ASSERT_OFFSET(kc_hello_reply, min_proto_version, 4);
KC_ASSERT_OFFSET(kc_hello_reply, capabilities, 8);
KC_ASSERT_OFFSET(kc_hello_reply, tunable_count, 16);
KC_ASSERT_OFFSET(kc_hello_reply, max_option_len, 20);
KC_ASSERT_OFFSET(kc_hello_reply, kext_version, 24);
KC_ASSERT_OFFSET(kc_hello_reply, bundle_id, 56);
KC_ASSERT_LAYOUT(kc_hello_reply_v2, 128);
KC_ASSERT_OFFSET(kc_hello_reply_v2, v1, 0);
KC_ASSERT_OFFSET(kc_hello_reply_v2, schema_hash, 120);
KC_ASSERT_LAYOUT(kc_describe_batch, 16);
KC_ASSERT_OFFSET(kc_describe_batch, first, 0);
KC_ASSERT_OFFSET(kc_describe_batch, count, 4);
KC_ASSERT_OFFSET(kc_describe_batch, next, 8);
KC_ASSERT_OFFSET(kc_describe_batch, total, 12);
KC_ASSERT_LAYOUT(kc_desc_record, 48);
KC_ASSERT_OFFSET(kc_desc_record, index, 0);
KC_ASSERT_OFFSET(kc_desc_record, type, 4);
KC_ASSERT_OFFSET(kc_desc_record, flags, 8);
KC_ASSERT_OFFSET(kc_desc_record, max_count, 12);
KC_ASSERT_OFFSET(kc_desc_record, min, 16);
KC_ASSERT_OFFSET(kc_desc_record, max, 24);
KC_ASSERT_OFFSET(kc_desc_record, def, 32);
KC_ASSERT_OFFSET(kc_desc_record, name_len, 40);
KC_ASSERT_OFFSET(kc_desc_record, unit_len, 41);
KC_ASSERT_OFFSET(kc_desc_record, help_len, 42);
KC_ASSERT_OFFSET(kc_desc_record, enum_names_len, 43);
KC_ASSERT_OFFSET(kc_desc_record, def_string_len, 44);
KC_ASSERT_LAYOUT(kc_describe_req, 8);
KC_ASSERT_OFFSET(kc_describe_req, index, 0);
KC_ASSERT_LAYOUT(kc_tunable_desc, 504);
KC_ASSERT_OFFSET(kc_tunable_desc, index, 0);
KC_ASSERT_OFFSET(kc_tunable_desc, type, 4);
KC_ASSERT_OFFSET(kc_tunable_desc, flags, 8);
KC_ASSERT_OFFSET(kc_tunable_desc, max_count, 12);
KC_ASSERT_OFFSET(kc_tunable_desc, min, 16);
KC_ASSERT_OFFSET(kc_tunable_desc, max, 24);
KC_ASSERT_OFFSET(kc_tunable_desc, def, 32);
KC_ASSERT_OFFSET(kc_tunable_desc, name, 40);
KC_ASSERT_OFFSET(kc_tunable_desc, unit, 104);
KC_ASSERT_OFFSET(kc_tunable_desc, help, 120);
KC_ASSERT_OFFSET(kc_tunable_desc, enum_names, 248);
KC_ASSERT_OFFSET(kc_tunable_desc, def_string, 376);
KC_ASSERT_LAYOUT(kc_get_req, 8);
KC_ASSERT_OFFSET(kc_get_req, index, 0);
KC_ASSERT_OFFSET(kc_get_req, offset, 4);
KC_ASSERT_LAYOUT(kc_value_hdr, 24);
KC_ASSERT_OFFSET(kc_value_hdr, index, 0);
KC_ASSERT_OFFSET(kc_value_hdr, type, 4);
KC_ASSERT_OFFSET(kc_value_hdr, offset, 8);
KC_ASSERT_OFFSET(kc_value_hdr, count, 12);
KC_ASSERT_OFFSET(kc_value_hdr, total, 16);
KC_ASSERT_OFFSET(kc_value_hdr, length, 20);
KC_ASSERT_LAYOUT(kc_state, 32);
KC_ASSERT_OFFSET(kc_state, generation, 0);
KC_ASSERT_OFFSET(kc_state, config_hash, 8);
KC_ASSERT_OFFSET(kc_state, tunable_count, 16);
KC_ASSERT_OFFSET(kc_state, event_seq, 20);
KC_ASSERT_OFFSET(kc_state, load_id, 24);
KC_ASSERT_OFFSET(kc_state, clients, 28);
KC_ASSERT_LAYOUT(kc_txn_begin, 8);
KC_ASSERT_OFFSET(kc_txn_begin, expected_generation, 0);
KC_ASSERT_LAYOUT(kc_commit_reply, 24);
KC_ASSERT_OFFSET(kc_commit_reply, generation, 0);
KC_ASSERT_OFFSET(kc_commit_reply, config_hash, 8);
KC_ASSERT_OFFSET(kc_commit_reply, changed, 16);
KC_ASSERT_LAYOUT(kc_error_detail, 16);
KC_ASSERT_OFFSET(kc_error_detail, error, 0);
KC_ASSERT_OFFSET(kc_error_detail, reason, 4);
KC_ASSERT_OFFSET(kc_error_detail, opt, 8);
KC_ASSERT_OFFSET(kc_error_detail, index, 12);
KC_ASSERT_LAYOUT(kc_event_hdr, 8);
KC_ASSERT_OFFSET(kc_event_hdr, seq, 0);
KC_ASSERT_OFFSET(kc_event_hdr, load_id, 4);
KC_ASSERT_LAYOUT(kc_ev_started, 56);
KC_ASSERT_OFFSET(kc_ev_started, proto_version, 8);
KC_ASSERT_OFFSET(kc_ev_started, tunable_count, 12);
KC_ASSERT_OFFSET(kc_ev_started, generation, 16);
KC_ASSERT_OFFSET(kc_ev_started, kext_version, 24);
KC_ASSERT_LAYOUT(kc_ev_stopping, 16);
KC_ASSERT_OFFSET(kc_ev_stopping, generation, 8);
KC_ASSERT_LAYOUT(kc_ev_applied, 32);
KC_ASSERT_OFFSET(kc_ev_applied, generation, 8);
KC_ASSERT_OFFSET(kc_ev_applied, config_hash, 16);
KC_ASSERT_OFFSET(kc_ev_applied, changed, 24);
KC_ASSERT_LAYOUT(kc_ev_tunable_changed, 88);
KC_ASSERT_OFFSET(kc_ev_tunable_changed, generation, 8);
KC_ASSERT_OFFSET(kc_ev_tunable_changed, index, 16);
KC_ASSERT_OFFSET(kc_ev_tunable_changed, name, 24);
KC_ASSERT_LAYOUT(kc_ev_client, 32);
KC_ASSERT_OFFSET(kc_ev_client, pid, 8);
KC_ASSERT_OFFSET(kc_ev_client, uid, 12);
KC_ASSERT_OFFSET(kc_ev_client, unit, 16);
KC_ASSERT_OFFSET(kc_ev_client, privileged, 20);
KC_ASSERT_OFFSET(kc_ev_client, clients, 24);
KC_ASSERT_LAYOUT(kc_ev_overflow, 24);
KC_ASSERT_OFFSET(kc_ev_overflow, lost, 8);
KC_ASSERT_OFFSET(kc_ev_overflow, reason, 12);
KC_ASSERT_OFFSET(kc_ev_overflow, lost_total, 16);
KC_ASSERT_LAYOUT(kc_ev_heartbeat, 64);
KC_ASSERT_OFFSET(kc_ev_heartbeat, generation, 8);
KC_ASSERT_OFFSET(kc_ev_heartbeat, requests, 16);
KC_ASSERT_OFFSET(kc_ev_heartbeat, rejections, 24);
KC_ASSERT_OFFSET(kc_ev_heartbeat, commits, 32);
KC_ASSERT_OFFSET(kc_ev_heartbeat, events_posted, 40);
KC_ASSERT_OFFSET(kc_ev_heartbeat, events_dropped, 48);
KC_ASSERT_OFFSET(kc_ev_heartbeat, clients, 56);
KC_ASSERT_OFFSET(kc_ev_heartbeat, interval_ms, 60);
KC_ASSERT_LAYOUT(kc_counters, 312);
KC_ASSERT_OFFSET(kc_counters, requests, 0);
KC_ASSERT_OFFSET(kc_counters, rejections, 8);
KC_ASSERT_OFFSET(kc_counters, commits, 16);
KC_ASSERT_OFFSET(kc_counters, aborts, 24);
KC_ASSERT_OFFSET(kc_counters, events_posted, 32);
KC_ASSERT_OFFSET(kc_counters, events_dropped, 40);
KC_ASSERT_OFFSET(kc_counters, clients, 48);
KC_ASSERT_OFFSET(kc_counters, clients_peak, 52);
KC_ASSERT_OFFSET(kc_counters, rejected, 56);
KC_STATIC_ASSERT(KC_R__COUNT <= KC_COUNTER_REASONS, "every reason has a counter");
KC_STATIC_ASSERT(sizeof(struct kc_ev_tunable_changed) <= KC_EVENT_PAYLOAD_MAX, "event payload limit");
KC_STATIC_ASSERT(sizeof(struct kc_ev_heartbeat) <= KC_EVENT_PAYLOAD_MAX, "event payload limit");
KC_STATIC_ASSERT(sizeof(struct kc_ev_started) <= KC_EVENT_PAYLOAD_MAX, "event payload limit");
KC_STATIC_ASSERT(sizeof(struct kc_ev_applied) <= KC_EVENT_PAYLOAD_MAX, "event payload limit");
KC_STATIC_ASSERT(sizeof(struct kc_tunable_desc) <= KC_OPT_MAX_LEN, "descriptor fits one option");
KC_STATIC_ASSERT(sizeof(struct kc_describe_batch) + sizeof(struct kc_desc_record) + KC_NAME_MAX + KC_UNIT_MAX +
                         KC_HELP_MAX + KC_ENUM_NAMES_MAX + KC_DEFAULT_STR_MAX <=
                     KC_OPT_MAX_LEN,
                 "the largest record fits one option");
KC_STATIC_ASSERT(KC_HELP_MAX <= 256 && KC_ENUM_NAMES_MAX <= 256 && KC_DEFAULT_STR_MAX <= 256,
                 "record string lengths fit uint8_t");

#ifdef __cplusplus
}
#endif

#endif /* KEXTCONF_PROTO_H */
