// kc_start's check of a kext's tunable table: a table error is the kext
// author's bug, so the library refuses to start rather than serve a contract
// the daemon cannot trust, and says which tunable broke which rule.
#include "kc_internal.h"

#include <string.h>
#include <sys/errno.h>

namespace kc {

bool valid_name(const char *name, bool dots)
{
    const size_t n = strnlen(name, KC_NAME_MAX);
    if (n == 0 || n == KC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; ++i) {
        const char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || (dots && ch == '.')))
            return false;
    }
    return true;
}

namespace {

// Number of '|'-separated names in an enum's name list.
uint32_t enum_count(const char *names)
{
    uint32_t n = 1;
    for (const char *p = names; *p != '\0'; ++p)
        n += *p == '|';
    return n;
}

// Records the broken rule and returns err.
errno_t broke(TableError *why, uint32_t index, const char *rule, errno_t err = EINVAL)
{
    why->index = index;
    why->rule = rule;
    return err;
}

// Bounds and defaults must be consistent, or every commit would fail
// validation and the daemon's idea of the default would differ from ours.
errno_t check_bounds(const kc_tunable_def &d, uint32_t i, TableError *why)
{
    switch (d.type) {
    case KC_TYPE_BOOL: return d.def.u <= 1 ? 0 : broke(why, i, "a bool's default must be 0 or 1");
    case KC_TYPE_INT64:
        return d.min.i <= d.max.i && d.def.i >= d.min.i && d.def.i <= d.max.i
                   ? 0
                   : broke(why, i, "an int64 needs min <= default <= max");
    case KC_TYPE_UINT64:
        return d.min.u <= d.max.u && d.def.u >= d.min.u && d.def.u <= d.max.u
                   ? 0
                   : broke(why, i, "a uint64 needs min <= default <= max");
    case KC_TYPE_ENUM:
        if (d.enum_names == nullptr || strnlen(d.enum_names, KC_ENUM_NAMES_MAX) >= KC_ENUM_NAMES_MAX)
            return broke(why, i, "an enum needs its '|'-separated names, shorter than KC_ENUM_NAMES_MAX");
        return d.min.i == 0 && d.max.i + 1 == static_cast<int64_t>(enum_count(d.enum_names)) && d.def.i >= 0 &&
                       d.def.i <= d.max.i
                   ? 0
                   : broke(why, i, "an enum needs min 0, max = its number of names - 1 and a default between");
    case KC_TYPE_STRING: {
        const size_t n = d.def_string ? strnlen(d.def_string, KC_DEFAULT_STR_MAX) : 0;
        return n < KC_DEFAULT_STR_MAX && n <= d.max_count
                   ? 0
                   : broke(why, i, "a string's default must fit max_count and KC_DEFAULT_STR_MAX");
    }
    // Lists start empty: no default to check, only element bounds.
    case KC_TYPE_INT64_LIST:
        return d.min.i <= d.max.i && d.def.i == 0 && d.def_string == nullptr
                   ? 0
                   : broke(why, i, "an int64 list needs element min <= max and no default");
    case KC_TYPE_STRING_LIST:
        // An element and its NUL must fit one option next to the header,
        // or it could never be set (lists are split between elements only).
        return d.min.u == 0 && d.max.u >= 1 && d.max.u < KC_OPT_MAX_LEN - sizeof(kc_value_hdr) && d.def.i == 0 &&
                       d.def_string == nullptr
                   ? 0
                   : broke(why, i, "a string list needs element lengths 0..max, 1 <= max < one option, no default");
    default: return broke(why, i, "unknown type", ENOTSUP);
    }
}

// The type's own rules; adds a string's room in the snapshot to *size.
errno_t check_type(const kc_tunable_def &d, uint32_t i, uint64_t *size, TableError *why)
{
    switch (d.type) {
    case KC_TYPE_BOOL:
    case KC_TYPE_INT64:
    case KC_TYPE_UINT64:
    case KC_TYPE_ENUM: return 0;
    case KC_TYPE_STRING:
        if (d.max_count == 0 || d.max_count > KC_OPT_MAX_LEN - sizeof(kc_value_hdr))
            return broke(why, i, "a string's max_count must be 1 up to one option's payload");
        *size += d.max_count + 1;
        return 0;
    case KC_TYPE_INT64_LIST:
    case KC_TYPE_STRING_LIST:
        if (d.max_count == 0 || (d.type == KC_TYPE_STRING_LIST && d.max.u >= KC_OPT_MAX_LEN) ||
            list_max_bytes(d) > kMaxListBytes)
            return broke(why, i, "a list's max_count must be > 0 and the whole list at most 256 MiB");
        return 0;
    default: return broke(why, i, "unknown type", ENOTSUP);
    }
}

errno_t check_row(const kc_kext_config *cfg, uint32_t i, uint64_t *size, TableError *why)
{
    const kc_tunable_def &d = cfg->table[i];
    if (d.name == nullptr || !valid_name(d.name, /*dots=*/true))
        return broke(why, i, "the name must be 1 to 63 of a-z, 0-9, '_' and '.'");
    if (d.help == nullptr || (d.flags & ~KC_TF__ALL) != 0)
        return broke(why, i, "help text is required and flags must be KC_TF_* bits");
    if (d.unit == nullptr || strnlen(d.unit, KC_UNIT_MAX) >= KC_UNIT_MAX || strnlen(d.help, KC_HELP_MAX) >= KC_HELP_MAX)
        return broke(why, i, "the unit (\"\" for none) and help must be shorter than KC_UNIT_MAX and KC_HELP_MAX");
    for (uint32_t j = 0; j < i; ++j)
        if (strcmp(cfg->table[j].name, d.name) == 0)
            return broke(why, i, "the name is used by an earlier row", EEXIST);
    if (errno_t err = check_type(d, i, size, why); err != 0)
        return err;
    return check_bounds(d, i, why);
}

} // namespace

errno_t check_table(const kc_kext_config *cfg, uint32_t *snap_size, TableError *why)
{
    if (cfg == nullptr || cfg->bundle_id == nullptr || cfg->version == nullptr || cfg->table == nullptr ||
        cfg->count == 0)
        return broke(why, kNoIndex, "the config needs a bundle id, a version and a non-empty table");
    if (strnlen(cfg->bundle_id, KC_BUNDLE_ID_MAX) >= KC_BUNDLE_ID_MAX - (sizeof KC_QUERY_SUFFIX - 1))
        return broke(why, kNoIndex, "the bundle id leaves no room for the query control's suffix");
    uint64_t size = sizeof(Snapshot) + uint64_t{cfg->count} * sizeof(Slot);
    for (uint32_t i = 0; i < cfg->count; ++i)
        if (errno_t err = check_row(cfg, i, &size, why); err != 0)
            return err;
    if (size > 0x7fffffffu)
        return broke(why, kNoIndex, "one snapshot of the table would take more than 2 GiB");
    // The tunables the library consumes itself must exist and be uint64.
    const char *const consumed[] = {cfg->event_rate_limit, cfg->heartbeat_interval};
    for (const char *name : consumed) {
        if (name == nullptr)
            continue;
        bool found = false;
        for (uint32_t i = 0; i < cfg->count && !found; ++i)
            found = strcmp(cfg->table[i].name, name) == 0 && cfg->table[i].type == KC_TYPE_UINT64;
        if (!found)
            return broke(why, kNoIndex, "event_rate_limit and heartbeat_interval must name uint64 tunables");
    }
    *snap_size = static_cast<uint32_t>(size);
    return 0;
}

} // namespace kc
