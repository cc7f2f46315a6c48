// Validating a parsed configuration against the schema the running kext
// reports (types, ranges, enum names, sizes), and the "did you mean" that
// unknown names get. Pure functions over their arguments; safe to call from
// any thread.
#include <kextconf/config_loader.hpp>

#include "diagnostic_sink.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace kextconf {

namespace {

using nlohmann::json;

// Largest value payload one TXN_SET option carries: strings are never split
// across options (codec.hpp encode_set_chunks), so a longer one cannot be sent.
constexpr std::size_t kMaxOptionPayload = KC_OPT_MAX_LEN - sizeof(kc_value_hdr);

// Checks one tunable's JSON value against its descriptor; each problem is
// reported at the value, or at the list element concerned.
class ValueChecker {
public:
    ValueChecker(const ConfigDocument& doc, DiagnosticSink& sink, const proto::TunableDesc& desc, std::string ptr,
                 const std::string& key_path)
        : doc_(doc), sink_(sink), d_(desc), ptr_(std::move(ptr)), key_path_(key_path)
    {
    }

    std::optional<proto::Value> check(const json& v)
    {
        using proto::Value;
        switch (d_.type) {
        case KC_TYPE_BOOL:
            if (!v.is_boolean())
                return fail(-1, "expected true or false, got " + got(v));
            return Value::of_bool(v.get<bool>());
        case KC_TYPE_INT64: {
            const auto i = int_value(v, -1);
            return i ? std::optional(Value::of_int(*i)) : std::nullopt;
        }
        case KC_TYPE_UINT64: return uint_value(v);
        case KC_TYPE_ENUM: return enum_value(v);
        case KC_TYPE_STRING: {
            auto s = string_value(v, -1, std::min<std::size_t>(d_.max_count, kMaxOptionPayload));
            return s ? std::optional(Value::of_string(std::move(*s))) : std::nullopt;
        }
        case KC_TYPE_INT64_LIST:
        case KC_TYPE_STRING_LIST: return list_value(v);
        default: return fail(-1, "the kext reports an unsupported type " + std::to_string(d_.type));
        }
    }

private:
    // `element` is the list index concerned, -1 for the value itself.
    std::nullopt_t fail(std::int64_t element, const std::string& what)
    {
        const std::string at = element < 0 ? ptr_ : ptr_ + "/" + std::to_string(element);
        const std::string where = element < 0 ? "" : "[" + std::to_string(element) + "]";
        const std::string label = key_path_.empty() ? "tunable " + quote_json(d_.name) : key_path_ + "." + d_.name;
        sink_.add(sink_.full() ? SourcePos{} : doc_.value_pos(at), label + where + ": " + what);
        return std::nullopt;
    }

    // A file's values are named as JSON writes them, a profile's by their plist type.
    std::string got(const json& v) const { return key_path_.empty() ? describe(v) : describe_plist_value(v); }

    template <class T> static std::string range(T lo, T hi)
    {
        return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    }

    std::optional<std::int64_t> int_value(const json& v, std::int64_t element)
    {
        if (!v.is_number_integer())
            return fail(element, "expected an integer in " + range(d_.min.i, d_.max.i) + ", got " + got(v));
        const bool fits = !v.is_number_unsigned() || v.get<std::uint64_t>() <= std::uint64_t{INT64_MAX};
        if (!fits || v.get<std::int64_t>() < d_.min.i || v.get<std::int64_t>() > d_.max.i)
            return fail(element, v.dump() + " is out of range " + range(d_.min.i, d_.max.i));
        return v.get<std::int64_t>();
    }

    std::optional<proto::Value> uint_value(const json& v)
    {
        const std::string r = range(d_.min.u, d_.max.u);
        if (!v.is_number_integer())
            return fail(-1, "expected an unsigned integer in " + r + ", got " + got(v));
        if (!v.is_number_unsigned() && v.get<std::int64_t>() < 0)
            return fail(-1, v.dump() + " is out of range " + r + " (must not be negative)");
        if (v.get<std::uint64_t>() < d_.min.u || v.get<std::uint64_t>() > d_.max.u)
            return fail(-1, v.dump() + " is out of range " + r);
        return proto::Value::of_uint(v.get<std::uint64_t>());
    }

    std::optional<proto::Value> enum_value(const json& v)
    {
        const auto allowed = [this] { // for an error only
            std::string list;
            for (const auto& n : d_.enum_names)
                list += (list.empty() ? "" : ", ") + quote_json(n);
            return list;
        };
        if (!v.is_string())
            return fail(-1, "expected one of " + allowed() + ", got " + got(v));
        const auto& s = v.get_ref<const std::string&>();
        const auto it = std::find(d_.enum_names.begin(), d_.enum_names.end(), s);
        if (it == d_.enum_names.end())
            return fail(-1, quote_json(s) + " is not one of " + allowed() +
                                hint(sink_.full() ? "" : suggest(s, d_.enum_names)));
        return proto::Value::of_enum(static_cast<std::uint32_t>(it - d_.enum_names.begin()));
    }

    std::optional<std::string> string_value(const json& v, std::int64_t element, std::size_t max_bytes)
    {
        if (!v.is_string())
            return fail(element, "expected a string, got " + got(v));
        const auto& s = v.get_ref<const std::string&>();
        if (s.find('\0') != std::string::npos)
            return fail(element, "string contains a NUL character (\\u0000)");
        if (s.size() > max_bytes)
            return fail(element, "string is " + std::to_string(s.size()) + " bytes, longer than the maximum of " +
                                     std::to_string(max_bytes));
        return s;
    }

    std::optional<proto::Value> list_value(const json& v)
    {
        const bool ints = d_.type == KC_TYPE_INT64_LIST;
        if (!v.is_array())
            return fail(-1, std::string("expected an array of ") + (ints ? "integers" : "strings") + ", got " + got(v));
        bool ok = v.size() <= d_.max_count;
        if (!ok)
            fail(-1, "list has " + std::to_string(v.size()) + " entries, more than the maximum of " +
                         std::to_string(d_.max_count));
        proto::Value out = ints ? proto::Value::of_ints({}) : proto::Value::of_strings({});
        for (std::size_t i = 0; i < v.size(); ++i) {
            const auto element = static_cast<std::int64_t>(i);
            if (ints) {
                const auto x = int_value(v[i], element);
                if ((ok = ok && x.has_value()))
                    out.ints.push_back(*x);
            } else {
                // max.u bounds each element; each travels NUL-terminated in one option.
                auto s = string_value(v[i], element, std::min<std::uint64_t>(d_.max.u, kMaxOptionPayload - 1));
                if ((ok = ok && s.has_value()))
                    out.strs.push_back(std::move(*s));
            }
        }
        return ok ? std::optional(std::move(out)) : std::nullopt;
    }

    const ConfigDocument& doc_;
    DiagnosticSink& sink_;
    const proto::TunableDesc& d_;
    std::string ptr_;
    const std::string& key_path_; // "" for a file; "Tunables" for a profile
};

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                cur[j] = std::min(cur[j], before[j - 2] + 1);
        }
        std::swap(before, prev);
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

} // namespace

std::optional<ValidatedConfig> validate_tunables(const ConfigDocument& doc,
                                                 const std::vector<proto::TunableDesc>& schema,
                                                 const std::string& key_path, std::vector<Diagnostic>& errors)
{
    DiagnosticSink sink(doc.file);
    std::unordered_map<std::string_view, const proto::TunableDesc*> by_name;
    std::vector<std::string> names;
    for (const auto& d : schema) {
        by_name.emplace(d.name, &d);
        names.push_back(d.name);
    }
    ValidatedConfig out{doc.kext, {}};
    for (auto it = doc.tunables.begin(); it != doc.tunables.end(); ++it) {
        const std::string ptr = "/tunables/" + pointer_token(it.key());
        const auto found = by_name.find(it.key());
        if (found == by_name.end()) {
            // Only for an unknown name: against every tunable's, it is the
            // most costly part of validating a file (quadratic in tunables).
            const std::string suggestion = hint(sink.full() ? "" : suggest(it.key(), names));
            sink.add(doc.key_pos(ptr), key_path.empty()
                                           ? "unknown tunable " + quote_json(it.key()) + suggestion
                                           : key_path + "." + printable(it.key()) + ": unknown tunable" + suggestion);
        } else if (auto value = ValueChecker(doc, sink, *found->second, ptr, key_path).check(it.value()))
            out.values.emplace_back(found->second->index, std::move(*value));
    }
    if (sink.flush(errors))
        return std::nullopt;
    std::sort(out.values.begin(), out.values.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
}

std::optional<ValidatedConfig> validate_config(const ConfigDocument& doc, const std::vector<proto::TunableDesc>& schema,
                                               std::vector<Diagnostic>& errors)
{
    return validate_tunables(doc, schema, "", errors);
}

std::string suggest(std::string_view word, const std::vector<std::string>& candidates)
{
    // Scores are doubled distances; a prefix match ranks between distance 1 and 2.
    constexpr std::size_t kMaxDistance = 3, kPrefixScore = 3, kNoMatch = 2 * kMaxDistance + 1;
    std::size_t best_score = kNoMatch;
    std::string best;
    for (const std::string_view c : candidates) {
        std::size_t score = kNoMatch;
        // The distance is at least the length gap; skip hopeless (and huge) pairs.
        if (std::max(word.size(), c.size()) - std::min(word.size(), c.size()) <= kMaxDistance &&
            c.size() <= 4 * KC_NAME_MAX) {
            const std::size_t d = edit_distance(word, c);
            if (d <= kMaxDistance && d < word.size())
                score = 2 * d;
        }
        if (std::min(word.size(), c.size()) >= 3 && (c.starts_with(word) || word.starts_with(c)))
            score = std::min(score, kPrefixScore);
        if (score < best_score)
            best_score = score, best = std::string(c);
    }
    return best;
}

} // namespace kextconf
