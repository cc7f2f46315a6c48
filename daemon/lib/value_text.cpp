#include <kextconf/value_text.hpp>

#include <cctype>

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

// `text` read as the configuration file reads a value (a JSON literal: true,
// false, a number, "a string", [a, list]), or as the string it is when it is
// not one, for the validator to refuse in the file's words.
json file_value(std::string_view text)
{
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    return j.is_discarded() ? json(std::string(text)) : j;
}

// Strings and enum names need no quotes on a command line; quoted, they are
// read as the file reads them.
json string_value(std::string_view text)
{
    if (trim(text).starts_with('"'))
        if (json j = json::parse(text, nullptr, false); j.is_string())
            return j;
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
    case KC_TYPE_BOOL:
    case KC_TYPE_INT64:
    case KC_TYPE_UINT64: return file_value(trim(text));
    case KC_TYPE_INT64_LIST:
    case KC_TYPE_STRING_LIST: {
        if (trim(text).starts_with('['))
            return file_value(text);
        json out = json::array();
        for (const auto part : split_commas(text))
            out.push_back(desc.type == KC_TYPE_INT64_LIST ? file_value(trim(part)) : string_value(trim(part)));
        return out;
    }
    default: return string_value(text); // enum names and strings
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
