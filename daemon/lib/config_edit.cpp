#include <kextconf/config_edit.hpp>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace kextconf {

namespace {

using nlohmann::json;

// Byte offset of a 1-based line and byte column; npos if outside the text.
std::size_t offset_of(const std::string& text, SourcePos pos)
{
    if (pos.line <= 0 || pos.col <= 0)
        return std::string::npos;
    std::size_t off = 0;
    for (int line = 1; line < pos.line; ++line) {
        off = text.find('\n', off);
        if (off == std::string::npos)
            return off;
        ++off;
    }
    off += static_cast<std::size_t>(pos.col - 1);
    return off < text.size() ? off : std::string::npos;
}

// Skips a comment starting at i (text[i] == '/'); returns the offset after it.
std::size_t skip_comment(const std::string& t, std::size_t i)
{
    if (i + 1 < t.size() && t[i + 1] == '/') {
        const std::size_t nl = t.find('\n', i);
        return nl == std::string::npos ? t.size() : nl;
    }
    if (i + 1 < t.size() && t[i + 1] == '*') {
        const std::size_t end = t.find("*/", i + 2);
        return end == std::string::npos ? t.size() : end + 2;
    }
    return i + 1;
}

std::size_t skip_string(const std::string& t, std::size_t i)
{
    for (++i; i < t.size(); ++i) {
        if (t[i] == '\\')
            ++i;
        else if (t[i] == '"')
            return i + 1;
    }
    return std::string::npos;
}

// End (exclusive) of the JSON value starting at `start`; npos if malformed.
std::size_t value_end(const std::string& t, std::size_t start)
{
    if (start >= t.size())
        return std::string::npos;
    const char c = t[start];
    if (c == '"')
        return skip_string(t, start);
    if (c != '[' && c != '{') {
        std::size_t i = start;
        while (i < t.size() && std::string_view(",]} \t\r\n/").find(t[i]) == std::string_view::npos)
            ++i;
        return i;
    }
    int depth = 0;
    for (std::size_t i = start; i < t.size();) {
        const char x = t[i];
        if (x == '"') {
            i = skip_string(t, i);
            if (i == std::string::npos)
                return i;
            continue;
        }
        if (x == '/') {
            i = skip_comment(t, i);
            continue;
        }
        if (x == '[' || x == '{')
            ++depth;
        else if ((x == ']' || x == '}') && --depth == 0)
            return i + 1;
        ++i;
    }
    return std::string::npos;
}

// The whitespace that starts the line holding `off`.
std::string indent_of_line(const std::string& t, std::size_t off)
{
    const std::size_t bol = off == 0 ? 0 : t.rfind('\n', off - 1) + 1; // npos + 1 == 0
    std::size_t end = bol;
    while (end < t.size() && (t[end] == ' ' || t[end] == '\t'))
        ++end;
    return t.substr(bol, end - bol);
}

} // namespace

std::optional<std::string> edit_tunables(const std::string& text, const ConfigDocument& doc, const json& updates)
{
    struct Splice {
        std::size_t at, len;
        std::string with;
    };
    std::vector<Splice> splices;
    std::vector<std::string> added;
    for (auto it = updates.begin(); it != updates.end(); ++it) {
        const std::string rendered = it.value().dump();
        if (!doc.tunables.contains(it.key())) {
            added.push_back(json(it.key()).dump() + ": " + rendered);
            continue;
        }
        const std::size_t start = offset_of(text, doc.value_pos("/tunables/" + pointer_token(it.key())));
        const std::size_t end = start == std::string::npos ? start : value_end(text, start);
        if (end == std::string::npos)
            return std::nullopt;
        splices.push_back({start, end - start, rendered});
    }
    if (!added.empty()) {
        const std::size_t brace = offset_of(text, doc.value_pos("/tunables"));
        if (brace == std::string::npos || text[brace] != '{')
            return std::nullopt;
        std::string indent;
        if (!doc.tunables.empty()) {
            // The first member in the file sets the indentation.
            std::size_t first = std::string::npos;
            for (auto it = doc.tunables.begin(); it != doc.tunables.end(); ++it)
                first = std::min(first, offset_of(text, doc.key_pos("/tunables/" + pointer_token(it.key()))));
            if (first == std::string::npos)
                return std::nullopt;
            indent = indent_of_line(text, first);
        } else {
            indent = indent_of_line(text, brace) + "    ";
        }
        std::string insert;
        for (std::size_t i = 0; i < added.size(); ++i)
            insert += "\n" + indent + added[i] + (i + 1 < added.size() || !doc.tunables.empty() ? "," : "");
        if (doc.tunables.empty())
            insert += "\n" + indent_of_line(text, brace);
        splices.push_back({brace + 1, 0, insert});
    }
    std::sort(splices.begin(), splices.end(), [](const Splice& a, const Splice& b) { return a.at > b.at; });
    std::string out = text;
    for (const auto& s : splices)
        out.replace(s.at, s.len, s.with);
    return out;
}

std::optional<EditedConfig> edit_config(const std::string& text, const ConfigDocument& doc, const json& values,
                                        const std::vector<proto::TunableDesc>& schema, const std::string& path,
                                        std::vector<std::string>& errors)
{
    auto edited = edit_tunables(text, doc, values);
    bool kept_comments = edited.has_value();
    std::vector<Diagnostic> check;
    std::optional<ConfigDocument> after;
    if (edited)
        after = parse_config(*edited, path, check);
    json want = doc.tunables;
    want.update(values);
    if (!after || !check.empty() || after->tunables != want) {
        // The in-place edit did not give the intended document: write it whole.
        json whole = json::parse(text, nullptr, false, /*ignore_comments=*/true);
        whole["tunables"] = want;
        edited = whole.dump(4) + "\n";
        kept_comments = false;
        check.clear();
        after = parse_config(*edited, path, check);
    }
    if (!after || !check.empty()) {
        errors.push_back("internal error: the edited configuration does not parse");
        return std::nullopt;
    }
    std::vector<Diagnostic> invalid;
    if (!validate_config(*after, schema, invalid)) {
        for (const auto& d : invalid)
            errors.push_back(d.str());
        return std::nullopt;
    }
    return EditedConfig{*edited, kept_comments};
}

} // namespace kextconf
