#include <kextconf/values.hpp>

#include <cstdio>

namespace kextconf {

nlohmann::json value_to_json(const proto::TunableDesc& desc, const proto::Value& v)
{
    switch (v.type) {
    case KC_TYPE_BOOL: return v.scalar.i != 0;
    case KC_TYPE_INT64: return v.scalar.i;
    case KC_TYPE_UINT64: return v.scalar.u;
    case KC_TYPE_ENUM:
        if (v.scalar.i >= 0 && static_cast<std::size_t>(v.scalar.i) < desc.enum_names.size())
            return desc.enum_names[static_cast<std::size_t>(v.scalar.i)];
        return v.scalar.i;
    case KC_TYPE_STRING: return v.str;
    case KC_TYPE_INT64_LIST: return v.ints;
    case KC_TYPE_STRING_LIST: return v.strs;
    default: return nullptr;
    }
}

std::string format_value(const proto::TunableDesc& desc, const proto::Value& v)
{
    const nlohmann::json j = value_to_json(desc, v);
    if (v.type == KC_TYPE_ENUM && j.is_string())
        return j.get<std::string>();
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<proto::Value> desired_values(const std::vector<proto::TunableDesc>& schema,
                                         const std::vector<std::pair<std::uint32_t, proto::Value>>& from_file)
{
    std::vector<proto::Value> out;
    out.reserve(schema.size());
    for (const auto& d : schema)
        out.push_back(d.def);
    for (const auto& [index, value] : from_file)
        if (const proto::TunableDesc* d = find_desc(schema, index))
            out[static_cast<std::size_t>(d - schema.data())] = value;
    return out;
}

const proto::TunableDesc* find_desc(const std::vector<proto::TunableDesc>& schema, std::uint32_t index)
{
    // A kext's table is in index order: look there first, not through the
    // whole table (for each of a file's values: quadratic at 256 tunables).
    if (index < schema.size() && schema[index].index == index)
        return &schema[index];
    for (const auto& d : schema)
        if (d.index == index)
            return &d;
    return nullptr;
}

std::string format_config_hash(std::uint64_t hash)
{
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
    return buf;
}

std::string counted(std::uint64_t n, const std::string& noun)
{
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

} // namespace kextconf
