// Descriptors <-> JSON Schema (schema.hpp). Pure functions; any thread.
#include <kextconf/schema.hpp>

#include <kextconf/file.hpp>

#include "diagnostic_sink.hpp"
#include <kextconf/kext_client.hpp>
#include <kextconf/values.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <limits>
#include <memory>
#include <set>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace kextconf {

namespace {

using nlohmann::json;

constexpr const char* kDraft = "https://json-schema.org/draft/2020-12/schema";
constexpr const char* kExt = "x-kextconf";

// Flag bits and their names in "flags"; a bit without a name is written as a number.
struct FlagName {
    std::uint32_t bit;
    const char* name;
};
constexpr FlagName kFlagNames[] = {{KC_TF_LOAD_ONLY, "load-only"}, {KC_TF_HIDDEN, "hidden"}};

bool signed_range(std::uint32_t type)
{
    return type == KC_TYPE_INT64 || type == KC_TYPE_INT64_LIST;
}

// The tunable's bounds as the members `lo` and `hi`, signed or unsigned as
// its type says.
void put_bounds(json& into, const char* lo, const char* hi, const proto::TunableDesc& d)
{
    if (signed_range(d.type)) {
        into[lo] = d.min.i;
        into[hi] = d.max.i;
    } else {
        into[lo] = d.min.u;
        into[hi] = d.max.u;
    }
}

json flags_to_json(std::uint32_t flags)
{
    json out = json::array();
    for (const auto& f : kFlagNames)
        if (flags & f.bit) {
            out.push_back(f.name);
            flags &= ~f.bit;
        }
    for (std::uint32_t bit = 1; bit != 0; bit <<= 1)
        if (flags & bit)
            out.push_back(bit);
    return out;
}

// The keywords JSON Schema tools understand, for one tunable.
json standard_keywords(const proto::TunableDesc& d)
{
    json p = json::object();
    if (!d.help.empty())
        p["description"] = d.help;
    const auto int_range = [&](json& into) {
        into["type"] = "integer";
        put_bounds(into, "minimum", "maximum", d);
    };
    switch (d.type) {
    case KC_TYPE_BOOL: p["type"] = "boolean"; break;
    case KC_TYPE_INT64:
    case KC_TYPE_UINT64: int_range(p); break;
    case KC_TYPE_ENUM:
        p["type"] = "string";
        p["enum"] = d.enum_names;
        break;
    case KC_TYPE_STRING:
        p["type"] = "string";
        p["maxLength"] = d.max_count; // bytes for the kext; characters for JSON Schema (an upper bound)
        break;
    case KC_TYPE_INT64_LIST:
        p["type"] = "array";
        p["items"] = json::object();
        int_range(p["items"]);
        p["maxItems"] = d.max_count;
        break;
    case KC_TYPE_STRING_LIST:
        p["type"] = "array";
        p["items"] = {{"type", "string"}};
        p["maxItems"] = d.max_count;
        break;
    default: break;
    }
    p["default"] = value_to_json(d, d.def);
    return p;
}

json descriptor_to_json(const proto::TunableDesc& d)
{
    json x = {{"index", d.index},
              {"type", std::string(proto::type_name(d.type))},
              {"flags", flags_to_json(d.flags)},
              {"unit", d.unit},
              {"max_count", d.max_count},
              {"default", value_to_json(d, d.def)}};
    put_bounds(x, "min", "max", d);
    if (d.type == KC_TYPE_ENUM)
        x["enum"] = d.enum_names;
    return x;
}

// Reads the document back, reporting each problem at its source position.
class SchemaReader {
public:
    SchemaReader(const SourceMap& map, DiagnosticSink& sink) : map_(map), sink_(sink) {}

    std::optional<KextSchema> read(const json& root)
    {
        if (!root.is_object())
            return fail("", "a kextconf schema must be a JSON object, got " + describe(root));
        const json* ext = member(root, "", kExt, /*required=*/false);
        if (ext == nullptr || !ext->is_object())
            return fail("", "not a kextconf schema: no \"x-kextconf\" object at the top (export one with "
                            "`kextconfctl schema`, or use the schema.json kextconfd saves in its state directory)");
        const std::string ext_ptr = std::string("/") + kExt;
        KextSchema out;
        const auto format = integer<std::uint32_t>(*ext, ext_ptr, "format");
        if (format && *format != kSchemaFormat)
            return fail(ext_ptr + "/format", "schema format " + std::to_string(*format) +
                                                 " is not supported (this "
                                                 "kextconf reads format " +
                                                 std::to_string(kSchemaFormat) + ")");
        auto bundle = text(*ext, ext_ptr, "bundle_id", KC_BUNDLE_ID_MAX);
        auto version = text(*ext, ext_ptr, "kext_version", KC_VERSION_STR_MAX);
        const auto proto_version = integer<std::uint32_t>(*ext, ext_ptr, "proto_version");
        if (bundle && bundle->empty())
            error(ext_ptr + "/bundle_id", "bundle_id must not be empty");
        if (bundle)
            out.bundle_id = std::move(*bundle);
        if (version)
            out.kext_version = std::move(*version);
        if (proto_version)
            out.proto_version = *proto_version;

        const json* props = member(root, "", "properties");
        const json* tunables = props && props->is_object() ? member(*props, "/properties", "tunables") : nullptr;
        const json* list =
            tunables && tunables->is_object() ? member(*tunables, "/properties/tunables", "properties") : nullptr;
        const std::string list_ptr = "/properties/tunables/properties";
        if (list == nullptr || !list->is_object())
            return fail("", "missing the tunables: /properties/tunables/properties must be an object");
        std::set<std::uint32_t> seen;
        for (auto it = list->begin(); it != list->end(); ++it) {
            const std::string ptr = list_ptr + "/" + pointer_token(it.key());
            if (auto d = tunable(it.key(), it.value(), ptr)) {
                if (!seen.insert(d->index).second)
                    error(ptr + "/" + kExt + "/index", "index " + std::to_string(d->index) + " is used twice");
                else
                    out.tunables.push_back(std::move(*d));
            }
        }
        if (failed_)
            return std::nullopt;
        std::sort(out.tunables.begin(), out.tunables.end(),
                  [](const auto& a, const auto& b) { return a.index < b.index; });
        return out;
    }

private:
    void error(const std::string& ptr, std::string message)
    {
        failed_ = true;
        sink_.add(map_.value_pos(ptr).value_or(SourcePos{}), std::move(message));
    }
    bool refuse(const std::string& ptr, std::string message)
    {
        error(ptr, std::move(message));
        return false;
    }

    std::nullopt_t fail(const std::string& ptr, std::string message)
    {
        error(ptr, std::move(message));
        return std::nullopt;
    }

    const json* member(const json& obj, const std::string& ptr, const char* key, bool required = true)
    {
        const auto it = obj.find(key);
        if (it != obj.end())
            return &*it;
        if (required)
            error(ptr, std::string("missing \"") + key + "\"");
        return nullptr;
    }

    // A string member shorter than `field_size` (a wire field with its NUL).
    std::optional<std::string> text(const json& obj, const std::string& ptr, const char* key, std::size_t field_size,
                                    bool required = true)
    {
        const json* v = member(obj, ptr, key, required);
        if (v == nullptr)
            return required ? std::nullopt : std::optional<std::string>(std::string());
        const std::string at = ptr + "/" + key;
        if (!v->is_string())
            return fail(at, std::string("\"") + key + "\" must be a string, got " + describe(*v));
        const auto& s = v->get_ref<const std::string&>();
        if (s.size() >= field_size)
            return fail(at, std::string("\"") + key + "\" is " + std::to_string(s.size()) +
                                " bytes, longer than the contract allows (" + std::to_string(field_size - 1) + ")");
        return s;
    }

    template <class T> std::optional<T> integer(const json& obj, const std::string& ptr, const char* key)
    {
        const json* v = member(obj, ptr, key);
        if (v == nullptr)
            return std::nullopt;
        return integer_value<T>(*v, ptr + "/" + key, key);
    }

    template <class T> std::optional<T> integer_value(const json& v, const std::string& at, const std::string& what)
    {
        const bool is_int = v.is_number_integer();
        bool fits = false;
        if (is_int && v.is_number_unsigned())
            fits = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        else if (is_int)
            fits = std::numeric_limits<T>::is_signed || v.get<std::int64_t>() >= 0;
        if (!fits)
            return fail(at, "\"" + what + "\" must be an integer that fits " +
                                (std::numeric_limits<T>::is_signed ? "int" : "uint") + std::to_string(8 * sizeof(T)) +
                                ", got " + describe(v));
        return std::numeric_limits<T>::is_signed ? static_cast<T>(v.get<std::int64_t>())
                                                 : static_cast<T>(v.get<std::uint64_t>());
    }

    std::optional<proto::Value> value(const proto::TunableDesc& d, const json& v, const std::string& at)
    {
        using proto::Value;
        const auto bad = [&](const char* want) {
            return fail(at, std::string("default must be ") + want + ", got " + describe(v));
        };
        switch (d.type) {
        case KC_TYPE_BOOL: return v.is_boolean() ? std::optional(Value::of_bool(v.get<bool>())) : bad("true or false");
        case KC_TYPE_INT64: {
            auto i = integer_value<std::int64_t>(v, at, "default");
            return i ? std::optional(Value::of_int(*i)) : std::nullopt;
        }
        case KC_TYPE_UINT64: {
            auto u = integer_value<std::uint64_t>(v, at, "default");
            return u ? std::optional(Value::of_uint(*u)) : std::nullopt;
        }
        case KC_TYPE_ENUM: {
            if (!v.is_string())
                return bad("one of the enum's names");
            const auto it = std::find(d.enum_names.begin(), d.enum_names.end(), v.get<std::string>());
            if (it == d.enum_names.end())
                return bad("one of the enum's names");
            return Value::of_enum(static_cast<std::uint32_t>(it - d.enum_names.begin()));
        }
        case KC_TYPE_STRING:
            return v.is_string() ? std::optional(Value::of_string(v.get<std::string>())) : bad("a string");
        case KC_TYPE_INT64_LIST: {
            if (!v.is_array())
                return bad("an array of integers");
            std::vector<std::int64_t> ints;
            for (std::size_t i = 0; i < v.size(); ++i)
                if (auto x = integer_value<std::int64_t>(v[i], at + "/" + std::to_string(i), "default element"))
                    ints.push_back(*x);
            return ints.size() == v.size() ? std::optional(Value::of_ints(std::move(ints))) : std::nullopt;
        }
        case KC_TYPE_STRING_LIST: {
            if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); }))
                return bad("an array of strings");
            return Value::of_strings(v.get<std::vector<std::string>>());
        }
        default: return std::nullopt;
        }
    }

    std::optional<std::uint32_t> flags(const json& v, const std::string& at)
    {
        if (!v.is_array())
            return fail(at, "\"flags\" must be an array, got " + describe(v));
        std::uint32_t out = 0;
        for (std::size_t i = 0; i < v.size(); ++i) {
            const json& f = v[i];
            const std::string fat = at + "/" + std::to_string(i);
            if (f.is_string()) {
                const auto it = std::find_if(std::begin(kFlagNames), std::end(kFlagNames),
                                             [&](const FlagName& n) { return f.get<std::string>() == n.name; });
                if (it == std::end(kFlagNames))
                    error(fat, "unknown flag " + describe(f) + " (known: \"load-only\", \"hidden\")");
                else
                    out |= it->bit;
            } else if (auto bit = integer_value<std::uint32_t>(f, fat, "flags element")) {
                out |= *bit;
            }
        }
        return out;
    }

    // "min" and "max": signed for int64 (and the list of them), unsigned otherwise.
    bool range(proto::TunableDesc& d, const json& x, const std::string& xp)
    {
        if (signed_range(d.type)) {
            const auto lo = integer<std::int64_t>(x, xp, "min"), hi = integer<std::int64_t>(x, xp, "max");
            if (!lo || !hi)
                return false;
            d.min.i = *lo, d.max.i = *hi;
            if (*lo > *hi)
                return refuse(xp + "/min", "min " + std::to_string(*lo) + " is above max " + std::to_string(*hi));
        } else {
            const auto lo = integer<std::uint64_t>(x, xp, "min"), hi = integer<std::uint64_t>(x, xp, "max");
            if (!lo || !hi)
                return false;
            d.min.u = *lo, d.max.u = *hi;
            if (d.type == KC_TYPE_UINT64 && *lo > *hi)
                return refuse(xp + "/min", "min " + std::to_string(*lo) + " is above max " + std::to_string(*hi));
        }
        return true;
    }

    // An enum's names: non-empty, without '|', within the contract's room joined.
    bool enum_names(proto::TunableDesc& d, const json& x, const std::string& xp)
    {
        const json* names = member(x, xp, "enum");
        if (names == nullptr)
            return false;
        std::size_t joined = 0;
        const bool ok =
            names->is_array() && !names->empty() && std::all_of(names->begin(), names->end(), [&](const json& n) {
                joined += n.is_string() ? n.get_ref<const std::string&>().size() + 1 : 0;
                return n.is_string() && !n.get_ref<const std::string&>().empty() &&
                       n.get_ref<const std::string&>().find('|') == std::string::npos;
            });
        if (!ok)
            return refuse(xp + "/enum", "\"enum\" must be a non-empty array of non-empty names without '|'");
        if (joined > KC_ENUM_NAMES_MAX)
            return refuse(xp + "/enum", "the enum's names take " + std::to_string(joined - 1) +
                                            " bytes joined, more than the contract allows (" +
                                            std::to_string(KC_ENUM_NAMES_MAX - 1) + ")");
        d.enum_names = names->get<std::vector<std::string>>();
        return true;
    }

    std::optional<proto::TunableDesc> tunable(const std::string& name, const json& p, const std::string& ptr)
    {
        if (name.empty() || name.size() >= KC_NAME_MAX)
            return fail(ptr, "tunable name " + quote_json(name) + " must be 1 to " + std::to_string(KC_NAME_MAX - 1) +
                                 " bytes");
        if (!p.is_object())
            return fail(ptr, "tunable " + quote_json(name) + " must be an object, got " + describe(p));
        const json* x = member(p, ptr, kExt);
        if (x == nullptr)
            return std::nullopt;
        const std::string xp = ptr + "/" + kExt;
        if (!x->is_object())
            return fail(xp, "\"x-kextconf\" must be an object, got " + describe(*x));

        proto::TunableDesc d;
        d.name = name;
        auto help = text(p, ptr, "description", KC_HELP_MAX, /*required=*/false);
        auto unit = text(*x, xp, "unit", KC_UNIT_MAX, /*required=*/false);
        const auto index = integer<std::uint32_t>(*x, xp, "index");
        const auto max_count = integer<std::uint32_t>(*x, xp, "max_count");
        const json* type = member(*x, xp, "type");
        std::optional<std::uint32_t> t;
        if (type && type->is_string())
            t = proto::type_from_name(type->get<std::string>());
        if (type && !t)
            error(xp + "/type",
                  "unknown type " + describe(*type) + " (bool, int64, uint64, enum, string, int64_list, string_list)");
        const json* fl = member(*x, xp, "flags", /*required=*/false);
        const auto fbits = fl ? flags(*fl, xp + "/flags") : std::optional<std::uint32_t>(0);
        if (!help || !unit || !index || !max_count || !t || !fbits)
            return std::nullopt;
        d.help = std::move(*help);
        d.unit = std::move(*unit);
        d.index = *index;
        d.max_count = *max_count;
        d.type = *t;
        d.flags = *fbits;

        if (!range(d, *x, xp) || (d.type == KC_TYPE_ENUM && !enum_names(d, *x, xp)))
            return std::nullopt;
        const json* def = member(*x, xp, "default");
        if (def == nullptr)
            return std::nullopt;
        auto v = value(d, *def, xp + "/default");
        if (!v)
            return std::nullopt;
        d.def = std::move(*v);
        return check_default(d, xp + "/default") ? std::optional(std::move(d)) : std::nullopt;
    }

    bool check_default(const proto::TunableDesc& d, const std::string& at)
    {
        const auto out_of_range = [&] {
            error(at, "default " + format_value(d, d.def) + " is outside [min, max]");
            return false;
        };
        switch (d.type) {
        case KC_TYPE_INT64:
            if (d.def.scalar.i < d.min.i || d.def.scalar.i > d.max.i)
                return out_of_range();
            break;
        case KC_TYPE_UINT64:
            if (d.def.scalar.u < d.min.u || d.def.scalar.u > d.max.u)
                return out_of_range();
            break;
        case KC_TYPE_STRING:
            if (d.def.str.size() > d.max_count || d.def.str.size() >= KC_DEFAULT_STR_MAX) {
                error(at, "default string is " + std::to_string(d.def.str.size()) + " bytes, longer than max_count " +
                              std::to_string(d.max_count) + " or the contract's " +
                              std::to_string(KC_DEFAULT_STR_MAX - 1));
                return false;
            }
            break;
        default: break;
        }
        return true;
    }

    const SourceMap& map_;
    DiagnosticSink& sink_;
    bool failed_ = false;
};

} // namespace

json schema_to_json(const KextSchema& schema)
{
    json tunables = json::object();
    for (const auto& d : schema.tunables) {
        json p = standard_keywords(d);
        p[kExt] = descriptor_to_json(d);
        tunables[d.name] = std::move(p);
    }
    return {
        {"$schema", kDraft},
        {"title", schema.bundle_id + " " + schema.kext_version + " configuration (kextconfd)"},
        {"description", "Configuration file for kextconfd. Generated from the kext's describe answer; \"x-kextconf\" "
                        "carries each tunable's descriptor."},
        {"type", "object"},
        {"required", {"kext", "tunables"}},
        {"properties",
         {{"$schema", {{"type", "string"}}},
          {"kext", {{"description", "bundle id of the kext to configure"}, {"const", schema.bundle_id}}},
          {"tunables",
           {{"description", "tunable name -> value; a tunable left out is set to its default"},
            {"type", "object"},
            {"additionalProperties", false},
            {"properties", std::move(tunables)}}}}},
        {"patternProperties", {{"^x-", json::object()}}},
        {"additionalProperties", false},
        {kExt,
         {{"format", kSchemaFormat},
          {"bundle_id", schema.bundle_id},
          {"kext_version", schema.kext_version},
          {"proto_version", schema.proto_version}}},
    };
}

std::optional<KextSchema> schema_from_text(std::string_view text, const std::string& file,
                                           std::vector<Diagnostic>& errors)
{
    DiagnosticSink sink(file);
    json root;
    SourceMap map;
    std::optional<KextSchema> out;
    if (parse_json_with_positions(text, root, map, sink))
        out = SchemaReader(map, sink).read(root);
    if (sink.flush(errors))
        return std::nullopt; // duplicate keys too: a schema must say one thing
    return out;
}

std::optional<KextSchema> load_schema_file(const std::string& path, std::vector<Diagnostic>& errors)
{
    auto fail = [&](std::string message) { return errors.push_back({path, 0, 0, std::move(message)}), std::nullopt; };
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd)
        return fail("cannot open: " + std::generic_category().message(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return fail("not a regular file");
    std::string text;
    if (const std::string why = read_file_bounded(fd.get(), st, kMaxSchemaBytes, text); !why.empty())
        return fail(why);
    return schema_from_text(text, path, errors);
}

KextError read_kext_schema(KextClient& kext, KextSchema& out)
{
    out.bundle_id = kext.bundle_id();
    out.kext_version = proto::field_string(kext.hello().kext_version);
    out.proto_version = kext.hello().proto_version;
    return kext.describe(out.tunables);
}

} // namespace kextconf
