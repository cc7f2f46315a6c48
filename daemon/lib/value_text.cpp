#include "value_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kextconf {

namespace {

using nlohmann::json;

std::string_view trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

// A decimal integer as JSON (signed or unsigned), or the text as a string.
json integer(std::string_view text)
{
    const std::string_view t = trim(text);
    if (!t.empty() && t.front() != '-') {
        std::uint64_t u = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), u);
        if (ec == std::errc() && p == t.data() + t.size())
            return u;
    }
    std::int64_t i = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
    if (!t.empty() && ec == std::errc() && p == t.data() + t.size())
        return i;
    return std::string(text);
}

std::vector<std::string_view> split_commas(std::string_view text)
{
    std::vector<std::string_view> out;
    if (trim(text).empty())
        return out;
    for (std::size_t start = 0;;) {
        const std::size_t comma = text.find(',', start);
        out.push_back(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos)
            return out;
        start = comma + 1;
    }
}

} // namespace

std::optional<std::pair<std::string, std::string>> split_assignment(std::string_view arg)
{
    const std::size_t eq = arg.find('=');
    if (eq == std::string_view::npos || eq == 0)
        return std::nullopt;
    return std::pair{std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1))};
}

json text_to_json(const proto::TunableDesc& desc, std::string_view text)
{
    switch (desc.type) {
    case KC_TYPE_BOOL: {
        std::string t(trim(text));
        std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
        if (t == "true" || t == "1" || t == "yes" || t == "on")
            return true;
        if (t == "false" || t == "0" || t == "no" || t == "off")
            return false;
        return std::string(text);
    }
    case KC_TYPE_INT64:
    case KC_TYPE_UINT64: return integer(text);
    case KC_TYPE_INT64_LIST:
    case KC_TYPE_STRING_LIST: {
        if (trim(text).starts_with('[')) {
            json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
            return j.is_discarded() ? json(std::string(text)) : j;
        }
        json out = json::array();
        for (const auto part : split_commas(text))
            out.push_back(desc.type == KC_TYPE_INT64_LIST ? integer(part) : json(std::string(trim(part))));
        return out;
    }
    default: return std::string(text); // enum names and strings as typed
    }
}

std::optional<ValidatedConfig> validate_assignments(const std::string& kext, const json& values,
                                                    const std::vector<proto::TunableDesc>& schema,
                                                    std::vector<std::string>& errors)
{
    ConfigDocument doc;
    doc.file = "command line";
    doc.kext = kext;
    doc.tunables = values;
    std::vector<Diagnostic> diags;
    auto out = validate_config(doc, schema, diags);
    for (const auto& d : diags)
        errors.push_back(d.message);
    return out;
}

} // namespace kextconf
