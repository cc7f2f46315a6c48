// The read-only sysctl mirror: <node>.tunables.<name> for every tunable that
// is not hidden, <node>.counters.<counter> and <node>.generation, where
// <node> is the kext's cfg->sysctl_node at the top level. A '.' in a tunable
// name becomes '_' (a sysctl name component cannot hold a dot).
//
// Scalars read as numbers (bool as int 0/1, int64 "Q", uint64 "QU"), enums as
// their value's name, strings as strings, lists as their entry count ("IU").
// Every OID is CTLFLAG_RD: the mirror never changes the configuration (only
// a transaction does, DESIGN.md rule 2).
//
// One allocation holds the OIDs, their child lists and names; registered
// parents first in kc_start, unregistered children first in kc_stop (XNU's
// sysctl_unregister_oid waits for handlers in flight). Handlers copy what
// they need under g.snap.lock shared and call SYSCTL_OUT without it.
#include "kc_internal.h"

#include <libkern/libkern.h>
#include <string.h>
#include <sys/sysctl.h>

namespace kc {

namespace {

enum CounterId : int {
    kGeneration,
    kRequests,
    kRejections,
    kCommits,
    kAborts,
    kEventsPosted,
    kEventsDropped,
    kClients,
    kClientsPeak,
    kCounterCount
};

struct CounterOid {
    const char *name;
    const char *descr;
};

// Index = CounterId; kGeneration sits directly under the node.
const CounterOid kCounters[kCounterCount] = {
    {"generation", "generation of the current configuration"},
    {"requests", "get/setsockopt calls on both controls"},
    {"rejections", "requests refused"},
    {"commits", "successful commits"},
    {"aborts", "transactions aborted or discarded on disconnect"},
    {"events_posted", "kern_events posted"},
    {"events_dropped", "kern_events lost (rate limit or post failure)"},
    {"clients", "clients connected now"},
    {"clients_peak", "most clients connected at once since load"},
};

// Fixed OIDs at the start of the array.
enum FixedOid : uint32_t {
    kTopNode,
    kTunablesNode,
    kCountersNode,
    kFirstCounter,
    kFirstTunable = kFirstCounter + kCounterCount
};

} // namespace

struct SysctlMirror {
    uint32_t size;  // bytes of the allocation
    uint32_t count; // OIDs registered, in array order
    sysctl_oid_list top_children;
    sysctl_oid_list tunables_children;
    sysctl_oid_list counters_children;
    // followed by sysctl_oid[count], then KC_NAME_MAX bytes of name per tunable
};

namespace {

sysctl_oid *oids(SysctlMirror *m)
{
    return reinterpret_cast<sysctl_oid *>(m + 1);
}

void sysctl_name_of(const char *tunable, char *out)
{
    strlcpy(out, tunable, KC_NAME_MAX);
    for (char *p = out; *p != '\0'; ++p)
        if (*p == '.')
            *p = '_';
}

// Entry count of a list tunable. Call under g.snap.lock: the block belongs to
// the snapshot, and a commit may free it once the lock is dropped.
uint32_t list_count(const Slot &slot)
{
    return slot.list != nullptr ? slot.list->count : 0;
}

int counter_handler SYSCTL_HANDLER_ARGS
{
    (void)oidp;
    (void)arg1;
    kc_counters c;
    kc_get_counters(&c);
    uint64_t v = 0;
    switch (arg2) {
    case kGeneration: v = kc_generation(); break;
    case kRequests: v = c.requests; break;
    case kRejections: v = c.rejections; break;
    case kCommits: v = c.commits; break;
    case kAborts: v = c.aborts; break;
    case kEventsPosted: v = c.events_posted; break;
    case kEventsDropped: v = c.events_dropped; break;
    case kClients: v = c.clients; break;
    case kClientsPeak: v = c.clients_peak; break;
    default: return ENOENT;
    }
    return SYSCTL_OUT(req, &v, sizeof v);
}

// The enum_names entry `value` of "a|b|c" into out (empty if out of range).
void enum_name(const char *names, int64_t value, char *out, size_t size)
{
    out[0] = '\0';
    int64_t i = 0;
    const char *start = names;
    for (const char *p = names;; ++p) {
        if (*p == '|' || *p == '\0') {
            if (i == value) {
                const size_t n = static_cast<size_t>(p - start);
                const size_t k = n < size - 1 ? n : size - 1;
                memcpy(out, start, k);
                out[k] = '\0';
                return;
            }
            if (*p == '\0')
                return;
            ++i;
            start = p + 1;
        }
    }
}

int tunable_handler SYSCTL_HANDLER_ARGS
{
    (void)oidp;
    (void)arg1;
    const uint32_t index = static_cast<uint32_t>(arg2);
    const kc_tunable_def &d = g.load.cfg->table[index];
    if (d.type == KC_TYPE_STRING) {
        const uint32_t room = d.max_count + 1;
        auto *buf = static_cast<char *>(OSMalloc(room, g.load.tag));
        if (buf == nullptr)
            return ENOMEM;
        lck_rw_lock_shared(g.snap.lock);
        const Slot &slot = slots(g.snap.current)[index];
        const uint32_t len = slot.len;
        memcpy(buf, strings(g.snap.current) + slot.str_off, len);
        lck_rw_unlock_shared(g.snap.lock);
        buf[len] = '\0';
        const int err = SYSCTL_OUT(req, buf, len + 1);
        OSFree(buf, room, g.load.tag);
        return err;
    }
    lck_rw_lock_shared(g.snap.lock);
    const Slot slot = slots(g.snap.current)[index];
    const unsigned int entries = is_list(d.type) ? list_count(slot) : 0;
    lck_rw_unlock_shared(g.snap.lock);
    switch (d.type) {
    case KC_TYPE_BOOL: {
        const int v = slot.v.i != 0;
        return SYSCTL_OUT(req, &v, sizeof v);
    }
    case KC_TYPE_INT64:
    case KC_TYPE_UINT64: return SYSCTL_OUT(req, &slot.v, sizeof slot.v);
    case KC_TYPE_ENUM: {
        char name[KC_ENUM_NAMES_MAX];
        enum_name(d.enum_names, slot.v.i, name, sizeof name);
        return SYSCTL_OUT(req, name, strlen(name) + 1);
    }
    case KC_TYPE_INT64_LIST:
    case KC_TYPE_STRING_LIST: return SYSCTL_OUT(req, &entries, sizeof entries);
    default: return ENOENT;
    }
}

void set_oid(sysctl_oid &o, sysctl_oid_list *parent, int kind, void *arg1, int arg2, sysctl_handler_t handler,
             const char *name, const char *fmt, const char *descr)
{
    memset(&o, 0, sizeof o);
    o.oid_parent = parent;
    o.oid_number = OID_AUTO;
    o.oid_kind = kind | CTLFLAG_OID2;
    o.oid_arg1 = arg1;
    o.oid_arg2 = arg2;
    o.oid_name = name;
    o.oid_handler = handler;
    o.oid_fmt = fmt;
    o.oid_descr = descr;
    o.oid_version = SYSCTL_OID_VERSION;
}

constexpr int kLeaf = static_cast<int>(CTLFLAG_RD | CTLFLAG_LOCKED);

// Kind and format of tunable `d`'s OID.
void leaf_kind(const kc_tunable_def &d, int *kind, const char **fmt)
{
    switch (d.type) {
    case KC_TYPE_BOOL:
        *kind = CTLTYPE_INT;
        *fmt = "I";
        break;
    case KC_TYPE_INT64:
        *kind = CTLTYPE_QUAD;
        *fmt = "Q";
        break;
    case KC_TYPE_UINT64:
        *kind = CTLTYPE_QUAD;
        *fmt = "QU";
        break;
    case KC_TYPE_ENUM:
    case KC_TYPE_STRING:
        *kind = CTLTYPE_STRING;
        *fmt = "A";
        break;
    default:
        *kind = CTLTYPE_INT;
        *fmt = "IU";
        break; // lists: their count
    }
}

} // namespace

errno_t sysctl_mirror_register(void)
{
    const kc_kext_config *cfg = g.load.cfg;
    if (cfg->sysctl_node == nullptr)
        return 0;
    if (!valid_name(cfg->sysctl_node, /*dots=*/false))
        return EINVAL;
    uint32_t visible = 0;
    for (uint32_t i = 0; i < cfg->count; ++i)
        visible += (cfg->table[i].flags & KC_TF_HIDDEN) == 0;
    // Two names equal once dots become underscores would be one OID.
    char a[KC_NAME_MAX], b[KC_NAME_MAX];
    for (uint32_t i = 0; i < cfg->count; ++i) {
        sysctl_name_of(cfg->table[i].name, a);
        if (strcmp(a, cfg->table[i].name) == 0)
            continue; // no dot: the table already has unique names
        for (uint32_t j = 0; j < cfg->count; ++j) {
            sysctl_name_of(cfg->table[j].name, b);
            if (j != i && strcmp(a, b) == 0)
                return EINVAL;
        }
    }

    const uint32_t count = kFirstTunable + visible;
    const uint32_t size = sizeof(SysctlMirror) + count * sizeof(sysctl_oid) + visible * KC_NAME_MAX;
    auto *m = static_cast<SysctlMirror *>(OSMalloc(size, g.load.tag));
    if (m == nullptr)
        return ENOMEM;
    memset(m, 0, size);
    m->size = size;
    m->count = count;
    sysctl_oid *o = oids(m);
    char *names = reinterpret_cast<char *>(o + count);
    constexpr int kNode = static_cast<int>(CTLTYPE_NODE | CTLFLAG_RD | CTLFLAG_LOCKED);
    set_oid(o[kTopNode], &sysctl__children, kNode, &m->top_children, 0, nullptr, cfg->sysctl_node, "N",
            "kextconf mirror of the kext's tunables (read-only)");
    set_oid(o[kTunablesNode], &m->top_children, kNode, &m->tunables_children, 0, nullptr, "tunables", "N",
            "current values; change them with a transaction (kextconfctl set)");
    set_oid(o[kCountersNode], &m->top_children, kNode, &m->counters_children, 0, nullptr, "counters", "N",
            "kextconf library counters since load");
    for (int c = 0; c < kCounterCount; ++c)
        set_oid(o[kFirstCounter + c], c == kGeneration ? &m->top_children : &m->counters_children, CTLTYPE_QUAD | kLeaf,
                nullptr, c, counter_handler, kCounters[c].name, "QU", kCounters[c].descr);
    uint32_t k = kFirstTunable;
    for (uint32_t i = 0; i < cfg->count; ++i) {
        const kc_tunable_def &d = cfg->table[i];
        if (d.flags & KC_TF_HIDDEN)
            continue;
        char *name = names + (k - kFirstTunable) * KC_NAME_MAX;
        sysctl_name_of(d.name, name);
        int kind;
        const char *fmt;
        leaf_kind(d, &kind, &fmt);
        set_oid(o[k++], &m->tunables_children, kind | kLeaf, nullptr, static_cast<int>(i), tunable_handler, name, fmt,
                d.help);
    }
    // sysctl_register_oid cannot fail (it returns void): parents first.
    for (uint32_t i = 0; i < count; ++i)
        sysctl_register_oid(&o[i]);
    g.sysctl = m;
    return 0;
}

void sysctl_mirror_unregister(void)
{
    SysctlMirror *m = g.sysctl;
    if (m == nullptr)
        return;
    for (uint32_t i = m->count; i-- > 0;)
        sysctl_unregister_oid(&oids(m)[i]); // waits for handlers in flight
    g.sysctl = nullptr;
    OSFree(m, m->size, g.load.tag);
}

} // namespace kc
