// Internal state of the kextconf kernel library. One instance per kext, by
// concern, each beside the lock that guards it (Globals below).
//
// Lock order (each taken with no other library lock held unless listed):
//  - g.ev.post_mtx, then g.ctl.mtx or g.snap.lock shared;
//  - g.hb.mtx, then g.snap.lock shared (heartbeat_schedule);
//  - g.snap.commit_mtx, then g.ctl.mtx or g.snap.lock exclusive;
//  - nothing takes another library lock while holding g.snap.lock.
//  thread_call_enter/cancel may be called under g.hb.mtx (they take only the
//  thread call subsystem's own spin lock). Counters are plain atomics
//  (OSAddAtomic64-style builtins), no lock.
#ifndef KEXTCONF_KC_INTERNAL_H
#define KEXTCONF_KC_INTERNAL_H

#include <kern/locks.h>
#include <kern/thread_call.h>
#include <kextconf/kc_kext.h>
#include <libkern/OSMalloc.h>
#include <sys/errno.h>
#include <sys/kern_control.h>

// The highest contract version this library speaks. A build may pin an
// older one (tests/kexts/v1 builds the library as a version 1 kext, to prove
// that clients fall back to it): then the options and forms of later
// versions are refused exactly as that version refused them.
#ifndef KC_LIB_PROTO_VERSION
#define KC_LIB_PROTO_VERSION KC_PROTO_VERSION
#endif
static_assert(KC_LIB_PROTO_VERSION >= KC_PROTO_MIN_VERSION && KC_LIB_PROTO_VERSION <= KC_PROTO_VERSION,
              "a contract version this tree knows");

namespace kc {

// A list value: one allocation, reference-counted, immutable once sealed.
// Snapshots and in-kernel readers (kc_list_acquire) share it; the last
// release frees it. While a transaction fills it (sealed == 0) only that
// transaction's staged snapshot refers to it.
//   int64 list:  int64_t values[count] in the order set, then (sealed only)
//                int64_t sorted[count] for kc_list_contains_int64;
//   string list: uint32_t offsets[count] into data, then char data[cap]:
//                the elements NUL-terminated, back to back (the wire form).
struct ListBlock {
    uint32_t refs;   // atomic
    uint32_t type;   // KC_TYPE_INT64_LIST or KC_TYPE_STRING_LIST
    uint32_t count;  // elements of the whole value (kc_value_hdr.total)
    uint32_t filled; // elements received so far; == count when complete
    uint32_t bytes;  // string lists: data bytes used (the hash's length)
    uint32_t cap;    // string lists: data bytes allocated
    uint32_t size;   // bytes of the whole allocation
    uint32_t sealed; // 0 while a transaction fills it
};
constexpr uint32_t kNoIndex = 0xffffffffu;

// One value inside a snapshot. Strings live in the snapshot's string area at
// a fixed offset with room for max_count bytes plus a NUL; lists are a
// pointer to a shared block (never null: an empty list has a block too).
struct Slot {
    kc_scalar v;
    uint32_t len;     // string bytes
    uint32_t str_off; // offset of the string in the string area
    ListBlock *list;  // lists only: one reference held by this snapshot
};

// A complete, immutable-once-published configuration: header, `count` slots,
// then the string area. One allocation, copied with one memcpy plus one
// reference per list (lists are shared, never copied).
struct Snapshot {
    uint64_t generation;
    uint64_t hash;
    uint32_t count;
    uint32_t size; // bytes of the whole allocation
};

inline Slot *slots(Snapshot *s)
{
    return reinterpret_cast<Slot *>(s + 1);
}
inline const Slot *slots(const Snapshot *s)
{
    return reinterpret_cast<const Slot *>(s + 1);
}
inline char *strings(Snapshot *s)
{
    return reinterpret_cast<char *>(slots(s) + s->count);
}
inline const char *strings(const Snapshot *s)
{
    return reinterpret_cast<const char *>(slots(s) + s->count);
}

// Per-connection state (the unitinfo of both controls).
struct Client {
    bool privileged; // connected to the admin control
    uint32_t unit;
    int32_t pid; // who connected (reported by both client events)
    uint32_t uid;
    Snapshot *staged; // non-null while a transaction is open
    // A TXN_SET of a list works on `staged` without holding g.mtx (it may
    // allocate and copy); while it does, commit and abort on another thread
    // of the same connection get EBUSY instead of freeing it underneath.
    bool txn_busy;
    uint64_t expected_generation;
    kc_error_detail last_error;
    // One bit per tunable for the commit in flight on this connection (see
    // changes_take), allocated with the Client so a commit allocates nothing.
    uint8_t *changed_bits;
    bool bits_busy; // g.ctl.mtx
};

// Bytes of a Client allocation: the struct and its changed_bits.
inline size_t client_alloc_size(uint32_t tunables)
{
    return sizeof(Client) + (tunables + 7) / 8;
}

// The library's counters (kc_counters without the client figures, which
// live under g.ctl.mtx with the client count). Updated with relaxed atomics:
// each is exact, a set of them read together is not a snapshot.
struct Counters {
    uint64_t requests;
    uint64_t rejections;
    uint64_t commits;
    uint64_t aborts;
    uint64_t events_posted;
    uint64_t events_dropped;
    uint64_t rejected[KC_COUNTER_REASONS];
};

inline void count(uint64_t &counter, uint64_t n = 1)
{
    __atomic_fetch_add(&counter, n, __ATOMIC_RELAXED);
}

struct SysctlMirror; // sysctl.cpp

// A one-second window admitting at most `limit` of something (events).
struct RateWindow {
    uint64_t start_ns;
    uint64_t count;
    // May one more go out at now_ns? A limit of 0 admits everything.
    bool allows(uint64_t limit, uint64_t now_ns);
};

// Where the library is in its life. Changed under g.ctl.mtx; read with
// atomic loads (in-kernel readers take no lock).
//   starting: kc_start is building its state; nothing is served.
//   ready:    clients connect, in-kernel readers read.
//   stopping: kc_stop refuses new connections; readers still read until
//             both controls are gone. A refused stop goes back to ready.
//   stopped:  the controls are gone; readers get defaults-of-type while
//             kc_stop waits for the ones inside to leave.
enum class Phase : uint32_t { kStarting = 0, kReady, kStopping, kStopped };

// Configuration and identity of this load: set by kc_start, then read-only.
struct LoadState {
    const kc_kext_config *cfg;
    OSMallocTag tag;
    lck_grp_t *grp;
    uint32_t id;     // the load id: tells one load of the kext from another
    bool has_hidden; // some tunable is hidden from the query control
    // kc_schema_hash of the table as each control describes it (v2 hello):
    // [0] the query control (hidden tunables left out), [1] the admin control.
    uint64_t schema_hash[2];
};

// lifecycle.cpp: the phase and the in-kernel readers kc_stop waits for.
struct Lifecycle {
    uint32_t phase;   // Phase (atomic)
    uint32_t readers; // in-kernel readers between reader_enter and reader_exit (atomic)
    uint32_t views;   // list views acquired and not yet released (atomic); kc_stop refuses while any
};

// snapshot.cpp, transaction.cpp: the current configuration. `lock` (rw):
// readers hold it shared only while copying a value or a snapshot; a commit
// holds it exclusive only to check the generation and swap the pointer.
// `commit_mtx` serializes commits' compare-and-swap; only a commit changes
// or frees `current`, so under it `current` is read without `lock`.
struct SnapshotState {
    lck_rw_t *lock;
    lck_mtx_t *commit_mtx;
    Snapshot *current;
    uint32_t size; // bytes of one snapshot of this table
};

// control.cpp: the two controls and their clients, under `mtx` (also the
// per-client transaction state and last-error records, and lifecycle
// changes).
struct ControlState {
    lck_mtx_t *mtx;
    kern_ctl_ref admin_ref;
    kern_ctl_ref query_ref;
    bool admin_registered;
    bool query_registered;
    uint32_t clients;
    uint32_t clients_peak;
};

// events.cpp: everything a poster touches, under `post_mtx` (sleepable),
// held from taking a sequence number through kev_msg_post so events reach
// listeners in sequence order. lost_pending is also read without it (atomic).
struct EventState {
    lck_mtx_t *post_mtx;
    uint32_t vendor_code;
    bool have_vendor;
    uint32_t seq;             // last sequence number used (atomic)
    uint32_t rate_index;      // tunable named by cfg->event_rate_limit, or kNoIndex
    uint64_t rate_limit;      // its value (atomic), refreshed by events_config_changed
    RateWindow rated;         // events under the rate limit
    RateWindow query_clients; // query-control client events' own budget
    uint32_t lost_pending;
    uint32_t lost_reason;
    uint64_t lost_total;
};

// heartbeat.cpp: the thread call behind KC_EV_HEARTBEAT, under `mtx`
// except the call itself.
struct HeartbeatState {
    lck_mtx_t *mtx;
    uint32_t index; // tunable named by cfg->heartbeat_interval, or kNoIndex
    thread_call_t call;
    uint64_t interval_ms; // what the pending beat was scheduled with
    uint32_t armed;       // invocations pending or running
    bool quiesced;        // nothing re-arms (kc_stop under way)
};

struct Globals {
    LoadState load;
    Lifecycle life;
    Counters counters;
    SnapshotState snap;
    ControlState ctl;
    EventState ev;
    HeartbeatState hb;
    SysctlMirror *sysctl;
};

extern Globals g;

// lists.cpp: list blocks, their validation, chunk staging and reads.
// Largest list allocation a table may ask for (entries x bytes per entry):
// a kext author's guard against a table typo becoming a kernel OOM.
constexpr uint64_t kMaxListBytes = 256ull * 1024 * 1024;
bool is_list(uint32_t type);
// Bytes one list tunable may take at most (its whole block), 0 if invalid.
uint64_t list_max_bytes(const kc_tunable_def &d);
ListBlock *list_alloc_empty(uint32_t type); // sealed, count 0; nullptr on ENOMEM
void list_retain(ListBlock *b);
void list_release(ListBlock *b); // frees on the last release; null is fine
const int64_t *list_int64s(const ListBlock *b);
const char *list_element(const ListBlock *b, uint32_t i, uint32_t *len);
// Payload bytes of the whole value on the wire (what the hash covers).
const void *list_payload(const ListBlock *b, uint32_t *len);
bool list_equal(const ListBlock *a, const ListBlock *b);
// Checks one TXN_SET chunk's payload against the tunable (kc_reason).
uint32_t check_list_chunk(uint32_t index, const kc_value_hdr &h, const unsigned char *payload);
// Appends a checked chunk to *slot_list, staging a new block at offset 0
// (sized from h.total). May replace *slot_list (growth). kc_reason.
uint32_t list_stage_chunk(ListBlock **slot_list, const kc_tunable_def &d, const kc_value_hdr &h,
                          const unsigned char *payload);
// Commit: a staged block must be complete; re-validates it, trims a string
// list's spare room, builds the sorted index and seals it. kc_reason.
uint32_t list_seal(ListBlock **slot_list, uint32_t index);
// KC_OPT_GET: copies whole elements from `offset` into out (room bytes) and
// fills count/total/length of h. Caller holds g.snap.lock shared. kc_reason,
// with KC_R_BAD_LENGTH meaning not even one element fits.
uint32_t list_read(const ListBlock *b, uint32_t offset, unsigned char *out, size_t room, kc_value_hdr *h);

// snapshot.cpp
Snapshot *snapshot_alloc(void);
void snapshot_free(Snapshot *s);
Snapshot *snapshot_defaults(void);
Snapshot *snapshot_copy_current(void); // nullptr on ENOMEM
uint64_t snapshot_hash(const Snapshot *s);
// Tunables whose value differs; sets bit i of `bits` (if not NULL) for each.
uint32_t snapshot_changed(const Snapshot *a, const Snapshot *b, uint8_t *bits);
// Validates a scalar / string for tunable `index`; returns a kc_reason.
uint32_t check_scalar(uint32_t index, kc_scalar v);
uint32_t check_string(uint32_t index, const char *data, size_t len);
// Re-validates every scalar and string slot and seals the lists a
// transaction staged (list_seal); returns a kc_reason and the index.
uint32_t check_snapshot(Snapshot *s, uint32_t *bad_index);

// table_check.cpp: kc_start's check of the kext's table. On an error, *why
// names the row (kNoIndex: the config as a whole) and the rule it broke.
struct TableError {
    uint32_t index;
    const char *rule;
};
errno_t check_table(const kc_kext_config *cfg, uint32_t *snap_size, TableError *why);
// 1 to KC_NAME_MAX - 1 of [a-z0-9_], and '.' if `dots` (tunable names; a
// sysctl node takes none).
bool valid_name(const char *name, bool dots);

// readers.cpp
// The value of scalar tunable `index` in the current snapshot (0 if not ready).
uint64_t current_scalar(uint32_t index);
// Index of the tunable called `name` with type `type`; kNoIndex if none.
uint32_t find_tunable(const char *name, uint32_t type);

// events.cpp. Posting never happens with a library lock held; every event
// takes the next sequence number whether it is posted or lost.
errno_t events_start(void);
// Re-reads the rate limit tunable; after start and after each commit.
void events_config_changed(void);
void post_started(void); // and makes the library ready (Phase::kReady)
void post_stopping(uint64_t generation);
void post_applied(uint64_t generation, uint64_t hash, uint32_t changed);
// One KC_EV_TUNABLE_CHANGED per bit set in `changed_bits` (bit i = tunable
// i); a NULL bitmap (no memory) loses `changed` events instead.
void post_tunables_changed(uint64_t generation, const uint8_t *changed_bits, uint32_t changed);
void post_client(uint32_t code, const struct Client *c, uint32_t clients, int32_t pid, uint32_t uid);
void post_heartbeat(uint64_t generation, uint32_t interval_ms);
// A zeroed bitmap of one bit per tunable for snapshot_changed: the
// client's own, or (another commit of this connection still using it) a new
// allocation; NULL on ENOMEM. changes_give returns it.
uint8_t *changes_take(Client *c);
void changes_give(Client *c, uint8_t *bits);

// heartbeat.cpp: the thread call behind KC_EV_HEARTBEAT.
errno_t heartbeat_start(void); // allocates; schedules after ready
void heartbeat_schedule(void); // (re)arms from the current interval tunable
// Stops re-arming, cancels the pending beat and waits for one in flight.
void heartbeat_quiesce(void);
void heartbeat_resume(void); // undoes quiesce (stop refused)
void heartbeat_free(void);

// sysctl.cpp: the read-only mirror under cfg->sysctl_node.
errno_t sysctl_mirror_register(void);
void sysctl_mirror_unregister(void);

// control.cpp
// The client could not tell the output is too small unless we say so; a
// getsockopt length may never grow past the caller's buffer.
constexpr errno_t kErrBufferTooSmall = ERANGE;
// A writer that read an older generation must re-read and retry.
constexpr errno_t kErrStale = EAGAIN;
// Records why a request failed (KC_OPT_LAST_ERROR) and returns err.
errno_t fail(Client *c, errno_t err, uint32_t reason, int opt, uint32_t index);
errno_t controls_register(void);
// The table's schema hashes (g.load.schema_hash), computed once by kc_start.
void schema_hash_compute(void);
// EBUSY if a client is still connected; then both controls stay registered.
errno_t controls_deregister(void);

// transaction.cpp: the admin control's write path.
errno_t begin(Client *c, int opt, const void *data, size_t len);
errno_t set_value(Client *c, int opt, const void *data, size_t len);
errno_t commit(Client *c, int opt, void *data, size_t *len);
errno_t abort_txn(Client *c);

inline Phase phase(void)
{
    return static_cast<Phase>(__atomic_load_n(&g.life.phase, __ATOMIC_SEQ_CST));
}

inline void set_phase(Phase p)
{
    __atomic_store_n(&g.life.phase, static_cast<uint32_t>(p), __ATOMIC_SEQ_CST);
}

// In-kernel readers are served while both controls are registered.
inline bool is_ready(void)
{
    const Phase p = phase();
    return p == Phase::kReady || p == Phase::kStopping;
}

// An in-kernel reader (kc_get_*, kc_list_*) brackets its use of g.snap with
// these: counted before the ready check, so kc_stop, which moves to stopped
// and then waits for the count to drain, never frees it under a reader (both
// sides seq_cst: store-then-load on each side).
inline void reader_exit(void)
{
    __atomic_sub_fetch(&g.life.readers, 1u, __ATOMIC_SEQ_CST);
}

inline bool reader_enter(void)
{
    __atomic_add_fetch(&g.life.readers, 1u, __ATOMIC_SEQ_CST);
    if (is_ready())
        return true;
    reader_exit();
    return false;
}

} // namespace kc

#endif
