// Internal state of the kextconf kernel library. One instance per kext.
//
// Locking:
//  - g.snap_lock (lck_rw): readers hold it shared only while copying a value
//    or a snapshot; a commit holds it exclusive only to check the generation
//    and swap the pointer. Snapshots are built and freed outside it.
//  - g.mtx (lck_mtx): client list, per-client transaction state and
//    last-error records, the stopping flag. Never held while posting events
//    or while taking snap_lock exclusive.
#ifndef KEXTCONF_KC_INTERNAL_H
#define KEXTCONF_KC_INTERNAL_H

#include <kern/locks.h>
#include <kextconf/kc_kext.h>
#include <libkern/OSMalloc.h>
#include <sys/errno.h>
#include <sys/kern_control.h>

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
    Snapshot *staged; // non-null while a transaction is open
    // A TXN_SET of a list works on `staged` without holding g.mtx (it may
    // allocate and copy); while it does, commit and abort on another thread
    // of the same connection get EBUSY instead of freeing it underneath.
    bool txn_busy;
    uint64_t expected_generation;
    kc_error_detail last_error;
};

struct Globals {
    const kc_kext_config *cfg;
    OSMallocTag tag;
    lck_grp_t *grp;
    lck_rw_t *snap_lock;
    lck_mtx_t *mtx;
    Snapshot *current;
    uint32_t snap_size;
    kern_ctl_ref admin_ref;
    kern_ctl_ref query_ref;
    bool admin_registered;
    bool query_registered;
    uint32_t vendor_code;
    bool have_vendor;
    uint32_t seq; // last event sequence number used (atomic)
    uint32_t load_id;
    uint32_t clients;
    bool stopping;
    bool ready;              // set (release) when start finished, cleared first on stop
    bool has_hidden;         // some tunable is hidden from the query control
    uint64_t events_dropped; // atomic
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
// fills count/total/length of h. Caller holds snap_lock shared. kc_reason,
// with KC_R_BAD_LENGTH meaning not even one element fits.
uint32_t list_read(const ListBlock *b, uint32_t offset, unsigned char *out, size_t room, kc_value_hdr *h);

// snapshot.cpp
Snapshot *snapshot_alloc(void);
void snapshot_free(Snapshot *s);
Snapshot *snapshot_defaults(void);
Snapshot *snapshot_copy_current(void); // nullptr on ENOMEM
uint64_t snapshot_hash(const Snapshot *s);
uint32_t snapshot_changed(const Snapshot *a, const Snapshot *b);
// Validates a scalar / string for tunable `index`; returns a kc_reason.
uint32_t check_scalar(uint32_t index, kc_scalar v);
uint32_t check_string(uint32_t index, const char *data, size_t len);
// Re-validates every scalar and string slot and seals the lists a
// transaction staged (list_seal); returns a kc_reason and the index.
uint32_t check_snapshot(Snapshot *s, uint32_t *bad_index);

// events.cpp
errno_t events_start(void);
void post_started(void);
void post_stopping(uint64_t generation);
void post_applied(uint64_t generation, uint64_t hash, uint32_t changed);

// control.cpp
constexpr uint32_t kNoIndex = 0xffffffffu;
// The client could not tell the output is too small unless we say so; a
// getsockopt length may never grow past the caller's buffer.
constexpr errno_t kErrBufferTooSmall = ERANGE;
// A writer that read an older generation must re-read and retry.
constexpr errno_t kErrStale = EAGAIN;
// Records why a request failed (KC_OPT_LAST_ERROR) and returns err.
errno_t fail(Client *c, errno_t err, uint32_t reason, int opt, uint32_t index);
errno_t controls_register(void);
// EBUSY if a client is still connected; then both controls stay registered.
errno_t controls_deregister(void);

// transaction.cpp: the admin control's write path.
errno_t begin(Client *c, int opt, const void *data, size_t len);
errno_t set_value(Client *c, int opt, const void *data, size_t len);
errno_t commit(Client *c, int opt, void *data, size_t *len);
errno_t abort_txn(Client *c);

inline bool is_ready(void)
{
    return __atomic_load_n(&g.ready, __ATOMIC_ACQUIRE);
}

} // namespace kc

#endif
