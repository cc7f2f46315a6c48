// The XML property list ("plist 1.0"): a small recursive-descent reader for
// the elements a plist holds. The prolog (<?xml?>, <!DOCTYPE>), comments and
// CDATA are understood; entities are the five XML ones and character
// references. Errors name the line.
#include "plist_parsers.hpp"

#include <kextconf/plist_reader.hpp>
#include <kextconf/text_encoding.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace kextconf::plist_detail {

namespace {

using nlohmann::json;

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == ':' || c == '.';
}

std::string trimmed(const std::string& s)
{
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos)
        return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// "-12", "42", "18446744073709551615" (decimal; Apple's writers use nothing else).
std::optional<json> integer_of(const std::string& text)
{
    const std::string s = trimmed(text);
    const bool negative = !s.empty() && s[0] == '-';
    const std::size_t digits = negative || (!s.empty() && s[0] == '+') ? 1 : 0;
    if (s.size() == digits || !std::all_of(s.begin() + static_cast<std::ptrdiff_t>(digits), s.end(),
                                           [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    errno = 0;
    if (negative) {
        const long long v = std::strtoll(s.c_str(), nullptr, 10);
        return errno == ERANGE ? std::nullopt : std::optional<json>(static_cast<std::int64_t>(v));
    }
    const unsigned long long v = std::strtoull(s.c_str() + digits, nullptr, 10);
    return errno == ERANGE ? std::nullopt : std::optional<json>(static_cast<std::uint64_t>(v));
}

class XmlPlist {
public:
    explicit XmlPlist(std::string_view text) : t_(text) {}

    std::optional<json> parse(std::string& error)
    {
        json out;
        if (!document(out)) {
            error = error_;
            return std::nullopt;
        }
        return out;
    }

private:
    struct Tag {
        std::string name;
        bool closing = false;
        bool empty = false; // <name/>
    };

    bool fail(const std::string& msg)
    {
        if (error_.empty()) {
            const auto line =
                std::count(t_.begin(), t_.begin() + static_cast<std::ptrdiff_t>(std::min(pos_, t_.size())), '\n') + 1;
            error_ = "line " + std::to_string(line) + ": " + msg;
        }
        return false;
    }
    bool at(std::string_view s) const { return t_.substr(pos_, s.size()) == s; }
    bool skip_past(std::string_view end, const char* what)
    {
        const auto found = t_.find(end, pos_);
        if (found == std::string_view::npos)
            return fail(std::string("unterminated ") + what);
        pos_ = found + end.size();
        return true;
    }

    // Whitespace and comments between elements.
    bool skip_misc()
    {
        for (;;) {
            while (pos_ < t_.size() && is_space(t_[pos_]))
                ++pos_;
            if (!at("<!--"))
                return true;
            if (!skip_past("-->", "comment"))
                return false;
        }
    }

    bool prolog()
    {
        if (at("\xEF\xBB\xBF"))
            pos_ += 3;
        for (;;) {
            if (!skip_misc())
                return false;
            if (at("<?")) {
                if (!skip_past("?>", "<?...?> declaration"))
                    return false;
            } else if (at("<!DOCTYPE")) {
                if (!skip_past(">", "<!DOCTYPE>"))
                    return false;
            } else {
                return true;
            }
        }
    }

    bool read_tag(Tag& tag)
    {
        if (!skip_misc())
            return false;
        if (pos_ >= t_.size())
            return fail("the document ends where an element was expected");
        if (t_[pos_] != '<')
            return fail("text where an element was expected");
        ++pos_;
        tag.closing = pos_ < t_.size() && t_[pos_] == '/';
        if (tag.closing)
            ++pos_;
        const std::size_t start = pos_;
        while (pos_ < t_.size() && is_name_char(t_[pos_]))
            ++pos_;
        tag.name = std::string(t_.substr(start, pos_ - start));
        if (tag.name.empty())
            return fail("'<' does not start an element");
        // Attributes (plist's version="1.0") are skipped, quotes respected.
        char quote = 0;
        for (; pos_ < t_.size(); ++pos_) {
            const char c = t_[pos_];
            if (quote)
                quote = c == quote ? 0 : quote;
            else if (c == '"' || c == '\'')
                quote = c;
            else if (c == '>')
                break;
        }
        if (pos_ >= t_.size())
            return fail("element <" + tag.name + "> is not closed by '>'");
        tag.empty = t_[pos_ - 1] == '/' && !tag.closing;
        ++pos_;
        return true;
    }

    bool entity(std::string& out)
    {
        const auto end = t_.find(';', pos_);
        if (end == std::string_view::npos || end - pos_ > 12)
            return fail("'&' does not start an entity (write &amp; for '&')");
        const std::string_view name = t_.substr(pos_ + 1, end - pos_ - 1);
        pos_ = end + 1;
        static constexpr std::pair<std::string_view, char> kNamed[] = {
            {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
        for (const auto& [n, c] : kNamed)
            if (name == n)
                return out += c, true;
        if (name.size() < 2 || name[0] != '#')
            return fail("unknown entity &" + std::string(name) + ";");
        const bool hex = name[1] == 'x';
        const std::string digits(name.substr(hex ? 2 : 1));
        char* rest = nullptr;
        const unsigned long cp = std::strtoul(digits.c_str(), &rest, hex ? 16 : 10);
        if (digits.empty() || *rest != '\0' || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail("bad character reference &" + std::string(name) + ";");
        append_utf8(out, static_cast<std::uint32_t>(cp));
        return true;
    }

    // The text of <name>...</name>, the open tag read.
    bool text(const std::string& name, std::string& out)
    {
        for (;;) {
            if (pos_ >= t_.size())
                return fail("<" + name + "> is not closed");
            const char c = t_[pos_];
            if (c == '&') {
                if (!entity(out))
                    return false;
            } else if (at("<![CDATA[")) {
                const auto end = t_.find("]]>", pos_);
                if (end == std::string_view::npos)
                    return fail("unterminated CDATA section");
                out.append(t_.substr(pos_ + 9, end - pos_ - 9));
                pos_ = end + 3;
            } else if (at("<!--")) {
                if (!skip_past("-->", "comment"))
                    return false;
            } else if (c == '<') {
                Tag close;
                if (!read_tag(close))
                    return false;
                if (!close.closing || close.name != name)
                    return fail("<" + name + "> holds an element <" + close.name + ">; it holds text only");
                for (std::size_t i = 0; i < out.size(); i += std::max<std::size_t>(utf8_length(out, i), 1))
                    if (utf8_length(out, i) == 0)
                        return fail("byte " + hex_byte(static_cast<unsigned char>(out[i])) + " in <" + name +
                                    "> is not UTF-8");
                return true;
            } else {
                out += c;
                ++pos_;
            }
        }
    }

    bool dict(json& out, const std::string& path, std::size_t depth)
    {
        out = json::object();
        for (;;) {
            Tag key;
            if (!read_tag(key))
                return false;
            if (key.closing && key.name == "dict")
                return true;
            if (key.closing || key.name != "key")
                return fail("expected <key> or </dict> in the dictionary" + (path.empty() ? "" : " " + path) +
                            ", found <" + std::string(key.closing ? "/" : "") + key.name + ">");
            std::string name;
            if (!key.empty && !text("key", name))
                return false;
            if (out.contains(name))
                return fail("duplicate key \"" + name + "\" in " + (path.empty() ? "the dictionary" : path));
            Tag tag;
            if (!read_tag(tag))
                return false;
            if (tag.closing)
                return fail("key \"" + name + "\" has no value");
            if (!value(out[name], tag, plist_key_path(path, name), depth + 1))
                return false;
        }
    }

    bool array(json& out, const std::string& path, std::size_t depth)
    {
        out = json::array();
        for (;;) {
            Tag tag;
            if (!read_tag(tag))
                return false;
            if (tag.closing && tag.name == "array")
                return true;
            if (tag.closing)
                return fail("</" + tag.name + "> inside an array");
            out.push_back(json());
            if (!value(out.back(), tag, path + "[" + std::to_string(out.size() - 1) + "]", depth + 1))
                return false;
        }
    }

    bool scalar(json& out, const Tag& tag, const std::string& path)
    {
        std::string s;
        if (!tag.empty && !text(tag.name, s))
            return false;
        if (tag.name == "string") {
            out = std::move(s);
        } else if (tag.name == "integer") {
            auto v = integer_of(s);
            if (!v)
                return fail(path + ": <integer> " + json(trimmed(s)).dump() + " is not a decimal integer of 64 bits");
            out = std::move(*v);
        } else if (tag.name == "real") {
            const std::string r = trimmed(s);
            char* rest = nullptr;
            const double d = std::strtod(r.c_str(), &rest);
            if (r.empty() || *rest != '\0' || !std::isfinite(d))
                return fail(path + ": <real> " + json(r).dump() + " is not a finite number");
            out = d;
        } else if (tag.name == "true" || tag.name == "false") {
            if (!trimmed(s).empty())
                return fail(path + ": <" + tag.name + "> holds text");
            out = tag.name == "true";
        } else {
            return false;
        }
        return true;
    }

    bool value(json& out, const Tag& tag, const std::string& path, std::size_t depth)
    {
        if (depth > kMaxPlistDepth)
            return fail("nested deeper than " + std::to_string(kMaxPlistDepth) + " levels");
        if (tag.name == "dict")
            return tag.empty ? (out = json::object(), true) : dict(out, path, depth);
        if (tag.name == "array")
            return tag.empty ? (out = json::array(), true) : array(out, path, depth);
        if (tag.name == "date" || tag.name == "data")
            return fail(unsupported_value(path, tag.name.c_str()));
        if (tag.name == "string" || tag.name == "integer" || tag.name == "real" || tag.name == "true" ||
            tag.name == "false")
            return scalar(out, tag, path);
        return fail("<" + tag.name + "> is not a property list element");
    }

    bool document(json& out)
    {
        if (!prolog())
            return false;
        Tag tag;
        if (!read_tag(tag))
            return false;
        const bool wrapped = tag.name == "plist" && !tag.closing;
        if (wrapped) {
            if (tag.empty)
                return fail("the <plist> is empty");
            if (!read_tag(tag))
                return false;
        }
        if (tag.closing)
            return fail("the <plist> holds no value");
        if (!value(out, tag, "", 0))
            return false;
        if (wrapped) {
            Tag end;
            if (!read_tag(end))
                return false;
            if (!end.closing || end.name != "plist")
                return fail("a <plist> holds one value; found <" + end.name + "> after it");
        }
        if (!skip_misc())
            return false;
        return pos_ == t_.size() || fail("text after the end of the property list");
    }

    std::string_view t_;
    std::size_t pos_ = 0;
    std::string error_;
};

} // namespace

std::optional<json> parse_xml(std::string_view text, std::string& error)
{
    return XmlPlist(text).parse(error);
}

} // namespace kextconf::plist_detail
