#include "kext_reader.hpp"

namespace kextconf::gui {

KextSnapshot read_kext(const std::string& bundle_id)
{
    KextSnapshot s;
    KextError err;
    auto kext = KextClient::connect(bundle_id, KextClient::Access::Query, err);
    if (!kext) {
        s.error = err.message;
        return s;
    }
    s.hello = kext->hello();
    if (auto e = kext->state(s.state); e) {
        s.error = e.message;
        return s;
    }
    if (kc_counters c{}; !kext->counters(c))
        s.counters = c;
    if (auto e = kext->describe(s.schema); e) {
        s.error = e.message;
        return s;
    }
    s.values.resize(s.schema.size());
    for (std::size_t i = 0; i < s.schema.size(); ++i)
        if (auto e = kext->get(s.schema[i], s.values[i]); e) {
            s.error = e.message;
            return s;
        }
    s.loaded = true;
    return s;
}

const char* type_name(std::uint32_t type)
{
    switch (type) {
    case KC_TYPE_BOOL: return "bool";
    case KC_TYPE_INT64: return "int64";
    case KC_TYPE_UINT64: return "uint64";
    case KC_TYPE_ENUM: return "enum";
    case KC_TYPE_STRING: return "string";
    case KC_TYPE_INT64_LIST: return "int64 list";
    case KC_TYPE_STRING_LIST: return "string list";
    default: return "unknown";
    }
}

std::string bounds_text(const proto::TunableDesc& d)
{
    const auto irange = "[" + std::to_string(d.min.i) + ", " + std::to_string(d.max.i) + "]";
    switch (d.type) {
    case KC_TYPE_INT64: return irange;
    case KC_TYPE_UINT64: return "[" + std::to_string(d.min.u) + ", " + std::to_string(d.max.u) + "]";
    case KC_TYPE_STRING: return "up to " + std::to_string(d.max_count) + " bytes";
    case KC_TYPE_INT64_LIST: return "up to " + std::to_string(d.max_count) + " entries, each in " + irange;
    case KC_TYPE_STRING_LIST:
        return "up to " + std::to_string(d.max_count) + " entries of up to " + std::to_string(d.max.u) + " bytes";
    default: return "";
    }
}

} // namespace kextconf::gui
