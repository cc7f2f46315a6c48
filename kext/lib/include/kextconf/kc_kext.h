/*
 * The kextconf kernel library: what a kext links to publish typed tunables.
 *
 * A kext declares its tunable table once (KC_TUNABLE_* below) and calls
 * kc_start() from its start routine and kc_stop() from its stop routine. The
 * library then serves the table over two kernel controls:
 *   "<bundle-id>"        CTL_FLAG_PRIVILEGED, read/write (transactions);
 *   "<bundle-id>.query"  anyone, read-only, non-hidden tunables only;
 * posts kern_events under the vendor string "<bundle-id>" (proto.h), and lets
 * in-kernel consumers read the current values without waiting behind a writer.
 *
 * Freestanding C++17 for the kernel: XNU KPIs only, no libc, no exceptions.
 */
#ifndef KEXTCONF_KC_KEXT_H
#define KEXTCONF_KC_KEXT_H

#include <kextconf/proto.h>
#include <sys/types.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

/* One tunable, as the kext declares it. The table is the single source of
 * truth for describe, validation in the kernel, and (through describe) the
 * daemon's validation and the JSON Schema. */
struct kc_tunable_def {
    const char *name;       /* [a-z0-9_.], < KC_NAME_MAX */
    uint32_t type;          /* enum kc_type */
    uint32_t flags;         /* KC_TF_* */
    union kc_scalar min;    /* int64/uint64/int64_list element bounds */
    union kc_scalar max;    /* string_list: max.u = longest element, bytes */
    union kc_scalar def;    /* scalar default (bool 0/1, enum index) */
    const char *def_string; /* string default, or NULL */
    uint32_t max_count;     /* string: max bytes; lists: max entries */
    const char *unit;       /* "" if none */
    const char *enum_names; /* "a|b|c" for enums, else NULL */
    const char *help;       /* one line */
};

#define KC_TUNABLE_BOOL(name, def, flags, help)                                                                        \
    {                                                                                                                  \
        name, KC_TYPE_BOOL, flags, {0}, {1}, {(def) ? 1 : 0}, 0, 0, "", 0, help                                        \
    }
#define KC_TUNABLE_INT64(name, def, lo, hi, unit, flags, help)                                                         \
    {                                                                                                                  \
        name, KC_TYPE_INT64, flags, {lo}, {hi}, {def}, 0, 0, unit, 0, help                                             \
    }
#define KC_TUNABLE_UINT64(name, def, lo, hi, unit, flags, help)                                                        \
    {                                                                                                                  \
        name, KC_TYPE_UINT64, flags, {static_cast<int64_t>(lo)}, {static_cast<int64_t>(hi)},                           \
            {static_cast<int64_t>(def)}, 0, 0, unit, 0, help                                                           \
    }
#define KC_TUNABLE_ENUM(name, def_index, names, count, flags, help)                                                    \
    {                                                                                                                  \
        name, KC_TYPE_ENUM, flags, {0}, {(count)-1}, {def_index}, 0, 0, "", names, help                                \
    }
#define KC_TUNABLE_STRING(name, def, max_len, flags, help)                                                             \
    {                                                                                                                  \
        name, KC_TYPE_STRING, flags, {0}, {0}, {0}, def, max_len, "", 0, help                                          \
    }

/* Lists start empty. An int64 list's elements lie within [lo, hi]; a string
 * list's elements are at most max_element_len bytes (no NUL inside), kept in
 * the descriptor's max.u (proto.h). Values travel in chunks of whole
 * elements, so max_element_len must stay below KC_OPT_MAX_LEN - 24. */
#define KC_TUNABLE_INT64_LIST(name, lo, hi, max_entries, unit, flags, help)                                            \
    {                                                                                                                  \
        name, KC_TYPE_INT64_LIST, flags, {lo}, {hi}, {0}, 0, max_entries, unit, 0, help                                \
    }
#define KC_TUNABLE_STRING_LIST(name, max_entries, max_element_len, flags, help)                                        \
    {                                                                                                                  \
        name, KC_TYPE_STRING_LIST, flags, {0}, {static_cast<int64_t>(max_element_len)}, {0}, 0, max_entries, "", 0,    \
            help                                                                                                       \
    }

struct kc_kext_config {
    const char *bundle_id; /* names the controls and the event vendor */
    const char *version;   /* CFBundleVersion */
    const struct kc_tunable_def *table;
    uint32_t count;
    /* Optional (NULL: none). Each names a KC_TYPE_UINT64 tunable of the table
     * that the library itself consumes:
     *  event_rate_limit   kern_events posted per second, 0 = unlimited; the
     *                     excess is dropped and reported by KC_EV_OVERFLOW;
     *  heartbeat_interval milliseconds between KC_EV_HEARTBEAT events (a
     *                     thread_call), 0 = off; a commit that changes it
     *                     reschedules the next beat. */
    const char *event_rate_limit;
    const char *heartbeat_interval;
    /* Top-level sysctl node of the read-only mirror, one component of
     * [a-z0-9_] (e.g. "kextconf_reference"); NULL: no mirror. */
    const char *sysctl_node;
    /* Optional hooks, each run on a kernel thread with no library lock held
     * (they may block, log, read tunables; they must not call kc_stop):
     *  on_commit     after a commit was swapped in and its events posted,
     *                on the committing client's thread;
     *  on_heartbeat  after each heartbeat event, on the thread call. */
    void (*on_commit)(uint64_t generation, uint32_t changed);
    void (*on_heartbeat)(uint64_t generation);
};

/* A configuration, its count taken from the table. The optional fields
 * follow the table in struct order and may be left out from the end (left
 * out: off), so that fields added later stay off:
 *   const kc_kext_config kConfig = KC_KEXT_CONFIG("com.example.x", "1.0", kTunables);
 *   const kc_kext_config kConfig = KC_KEXT_CONFIG("com.example.x", "1.0", kTunables,
 *       "event_rate_limit", "heartbeat_interval_ms", "example_x", on_commit, on_heartbeat);
 */
#define KC_KEXT_CONFIG(bundle_id, version, ...) KC_KEXT_CONFIG_ARGS_(bundle_id, version, __VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define KC_KEXT_CONFIG_ARGS_(bundle_id, version, table, event_rate_limit, heartbeat_interval, sysctl_node, on_commit,  \
                             on_heartbeat, ...)                                                                        \
    {                                                                                                                  \
        bundle_id, version, table, sizeof(table) / sizeof((table)[0]), event_rate_limit, heartbeat_interval,           \
            sysctl_node, on_commit, on_heartbeat                                                                       \
    }

#ifdef __cplusplus
/* True if row `index` of `table` is named `name`: for a static_assert beside
 * each of a kext's index constants (the table must be constexpr), so that an
 * index can never read another tunable after the table changes. */
template <uint32_t N>
constexpr bool kc_row_named(const struct kc_tunable_def (&table)[N], uint32_t index, const char *name)
{
    if (index >= N)
        return false;
    const char *a = table[index].name;
    while (*a != '\0' && *a == *name) {
        ++a;
        ++name;
    }
    return *a == *name;
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Checks the table, builds the default snapshot, registers both controls and
 * posts "started". 0 or an errno; on failure nothing is left registered. */
errno_t kc_start(const struct kc_kext_config *config);

/* Refuses with EBUSY while any client is connected or any list view is held
 * (the kext's stop routine must then return KERN_FAILURE); otherwise stops the heartbeat (waiting for
 * a beat in flight), deregisters both controls and the sysctl mirror, posts
 * "stopping" and frees everything. */
errno_t kc_stop(void);

/* Readers for in-kernel consumers: never block behind a commit for longer
 * than a pointer swap, never see a torn snapshot. An index of the wrong type
 * returns 0 / false / "". */
int64_t kc_get_int64(uint32_t index);
uint64_t kc_get_uint64(uint32_t index);
bool kc_get_bool(uint32_t index);
uint32_t kc_get_enum(uint32_t index);
/* Copies the string NUL-terminated into buf; returns its full length. */
size_t kc_get_string(uint32_t index, char *buf, size_t size);
uint64_t kc_generation(void);

/* Lists, for in-kernel consumers.
 *
 * kc_list_acquire() returns a read-only view of a list tunable's current
 * value, or NULL if the kextconf library is not running or `index` is not a
 * list. The view holds a reference on an immutable block: a concurrent
 * commit swaps in a new value for later acquirers but never changes or
 * frees this one. It costs one shared-lock round trip and an atomic
 * increment, never a copy.
 *
 * Rules:
 *  - every acquire is paired with exactly one kc_list_release(), from any
 *    thread; the view must not be used after it;
 *  - do not hold a view across blocking waits that a commit or kc_stop could
 *    wait for; release every view before calling kc_stop() (the library
 *    frees its allocation tag there; kc_stop refuses with EBUSY while one is
 *    held);
 *  - do not call kc_list_acquire() while holding a lock a writer might hold
 *    when it frees a snapshot: none of the library's locks is held by a
 *    caller's code, so this is only about the kext's own locks.
 *
 * kc_list_contains_int64() answers "is v in the list" by binary search over
 * a sorted index built once at commit: O(log n) under the shared lock, no
 * reference left behind. It is what a hot path (every packet, every open)
 * should call. */
struct kc_list; /* opaque */
const struct kc_list *kc_list_acquire(uint32_t index);
void kc_list_release(const struct kc_list *list);
uint32_t kc_list_count(const struct kc_list *list);
/* int64 lists: count values, in the order they were set; NULL otherwise. */
const int64_t *kc_list_int64s(const struct kc_list *list);
/* string lists: element i, NUL-terminated, its length in *len (may be NULL);
 * NULL if i >= count or the list holds int64s. */
const char *kc_list_string(const struct kc_list *list, uint32_t i, size_t *len);
bool kc_list_contains_int64(uint32_t index, int64_t value);
/* The library's counters (the same values KC_OPT_COUNTERS serves). */
void kc_get_counters(struct kc_counters *out);

#ifdef __cplusplus
}
#endif

#endif /* KEXTCONF_KC_KEXT_H */
