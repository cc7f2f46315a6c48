// A reader of JSON-with-comments whose only output is the first mistake in
// the text, worded for the person who made it. See json_syntax.hpp.
#include <kextconf/json_syntax.hpp>

#include <kextconf/text_encoding.hpp>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <string>

namespace kextconf {

namespace {

constexpr std::size_t kNpos = std::string_view::npos;
constexpr std::size_t kWholeFile = kNpos;

bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '+';
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// Where a value is expected, for "expected ..., found ..." messages. Worded
// only when a message needs it: line:col costs a pass over the text.
struct Slot {
    enum class Kind { Document, Member, Element } kind;
    std::string_view key; // Member: the key as written, quotes included
    std::size_t open = 0; // Element: the array's '['
};

struct Found {
    std::size_t offset; // kWholeFile: the problem is the file as a whole
    std::string message;
};

// Recursive descent over the text; stops at the first mistake.
class Reader {
public:
    explicit Reader(std::string_view t) : t_(t) {}

    std::optional<Found> document()
    {
        if (t_.starts_with("\xEF\xBB\xBF"))
            i_ = 3; // a UTF-8 byte order mark, which nlohmann skips too
        if (skip_space() && at_end())
            problem_ = Found{kWholeFile, "the file is empty (it holds only whitespace and comments)"};
        else if (!problem_ && value({Slot::Kind::Document, {}, 0}, 0) && skip_space() && !at_end())
            fail(i_, "unexpected " + name_at(i_) + " after the end of the document (it ended at " + where(last_end_) +
                         "); only whitespace and comments may follow it");
        return problem_;
    }

    std::size_t document_end() const { return last_end_; }

private:
    bool fail(std::size_t at, std::string message)
    {
        if (!problem_)
            problem_ = Found{at, std::move(message)};
        return false;
    }
    bool at_end() const { return i_ >= t_.size(); }
    char at(std::size_t k) const { return k < t_.size() ? t_[k] : '\0'; }

    std::string where(std::size_t offset) const
    {
        int line = 1;
        std::size_t line_start = 0;
        for (std::size_t k = 0; k < offset && k < t_.size(); ++k)
            if (t_[k] == '\n')
                ++line, line_start = k + 1;
        return std::to_string(line) + ":" + std::to_string(offset - line_start + 1);
    }

    // The byte (or character) at `k`, named without echoing raw bytes.
    std::string name_at(std::size_t k) const
    {
        if (k >= t_.size())
            return "end of file";
        const auto c = static_cast<unsigned char>(t_[k]);
        if (c == 0)
            return "NUL byte (0x00)";
        if (c >= 0x20 && c < 0x7F)
            return std::string("'") + static_cast<char>(c) + "'";
        if (c < 0x80)
            return "control character " + hex_byte(c);
        const std::size_t n = utf8_length(t_, k);
        if (n == 0)
            return "byte " + hex_byte(c) + " (not UTF-8; save the file as UTF-8)";
        if (t_.substr(k, n) == "\u201C" || t_.substr(k, n) == "\u201D")
            return "curly quote '" + printable(t_.substr(k, n)) + "' (JSON uses straight double quotes \")";
        return "character '" + printable(t_.substr(k, n)) + "'";
    }

    bool skip_space()
    {
        while (!at_end()) {
            const char c = t_[i_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                ++i_;
            } else if (c == '/' && at(i_ + 1) == '/') {
                const std::size_t nl = t_.find_first_of("\n\r", i_ + 2);
                i_ = nl == kNpos ? t_.size() : nl;
            } else if (c == '/' && at(i_ + 1) == '*') {
                const std::size_t close = t_.find("*/", i_ + 2);
                if (close == kNpos)
                    return fail(t_.size(), "unterminated /* comment (started at " + where(i_) + ")");
                i_ = close + 2;
            } else if (c == '/') {
                return fail(i_, "a lone '/': comments start with // or /*");
            } else if (c == '#') {
                return fail(i_, "'#' does not start a comment in JSON; use // or /* */");
            } else {
                return true;
            }
        }
        return true;
    }

    std::string what(const Slot& slot) const
    {
        switch (slot.kind) {
        case Slot::Kind::Member: return "the value of " + printable(slot.key);
        case Slot::Kind::Element: return "an element of the array opened at " + where(slot.open);
        default: return "a JSON value";
        }
    }

    // A value where `slot` expects one.
    bool value(const Slot& slot, int depth)
    {
        if (!skip_space())
            return false;
        if (at_end())
            return fail(i_, "the file ends where " + what(slot) + " should be");
        bool ok = false;
        switch (t_[i_]) {
        case '{': ok = object(depth); break;
        case '[': ok = array(depth); break;
        case '"': ok = string(); break;
        case '\'': return fail(i_, "strings are written in double quotes, not single quotes");
        case '}':
        case ']':
        case ',':
        case ':': return fail(i_, "expected " + what(slot) + ", found " + name_at(i_));
        default: ok = is_digit(t_[i_]) || t_[i_] == '-' ? number() : word(slot);
        }
        if (ok)
            last_end_ = i_;
        return ok;
    }

    bool nested(std::size_t open, int depth)
    {
        return depth < kMaxNestingDepth ||
               fail(open, "nesting deeper than " + std::to_string(kMaxNestingDepth) + " levels");
    }

    bool object(int depth)
    {
        const std::size_t open = i_++;
        if (!nested(open, depth) || !skip_space())
            return false;
        if (at(i_) == '}' && !at_end())
            return ++i_, true;
        const auto unclosed = [&] {
            return "the object opened at " + where(open) + " is not closed: the file ends before its }";
        };
        for (std::size_t comma = kNpos;;) {
            if (!skip_space())
                return false;
            const std::size_t key_at = i_;
            if (at_end())
                return fail(i_, unclosed());
            if (t_[i_] == '}' && comma != kNpos)
                return fail(comma, "trailing comma after the last member");
            if (t_[i_] == ',')
                return fail(i_, comma != kNpos ? "two commas in a row" : "a comma before the first member");
            if (t_[i_] == '\'')
                return fail(i_, "keys are written in double quotes, not single quotes");
            if (t_[i_] != '"') {
                std::size_t end = i_;
                while (end < t_.size() && is_word_char(t_[end]))
                    ++end;
                if (end > i_)
                    return fail(i_, "key " + std::string(t_.substr(i_, end - i_)) + " must be in double quotes (\"" +
                                        std::string(t_.substr(i_, end - i_)) + "\")");
                return fail(i_, "expected a member name in double quotes, found " + name_at(i_));
            }
            if (!string())
                return false;
            const std::string_view key = t_.substr(key_at, i_ - key_at);
            if (!skip_space())
                return false;
            if (at(i_) != ':' || at_end()) {
                if (at_end())
                    return fail(i_, unclosed());
                return fail(i_, at(i_) == '=' ? "write ':' between a key and its value, not '='"
                                              : "missing ':' after the key " + printable(key));
            }
            ++i_;
            if (!value({Slot::Kind::Member, key, 0}, depth + 1) || !skip_space())
                return false;
            if (at_end())
                return fail(i_, unclosed());
            if (t_[i_] == '}')
                return ++i_, true;
            if (t_[i_] == ',') {
                comma = i_++;
                continue;
            }
            if (t_[i_] == '"' || is_word_char(t_[i_]))
                return fail(last_end_, "missing comma after this member (the next one starts at " + where(i_) + ")");
            if (t_[i_] == ']')
                return fail(i_, "']' does not close the object opened at " + where(open) + "; expected ',' or '}'");
            return fail(i_, "expected ',' or '}' after the member " + printable(key) + ", found " + name_at(i_));
        }
    }

    bool array(int depth)
    {
        const std::size_t open = i_++;
        if (!nested(open, depth) || !skip_space())
            return false;
        if (at(i_) == ']' && !at_end())
            return ++i_, true;
        const auto unclosed = [&] {
            return "the array opened at " + where(open) + " is not closed: the file ends before its ]";
        };
        for (std::size_t comma = kNpos;;) {
            if (!skip_space())
                return false;
            if (at_end())
                return fail(i_, unclosed());
            if (t_[i_] == ']' && comma != kNpos)
                return fail(comma, "trailing comma after the last element");
            if (t_[i_] == ',')
                return fail(i_, comma != kNpos ? "two commas in a row" : "a comma before the first element");
            if (!value({Slot::Kind::Element, {}, open}, depth + 1) || !skip_space())
                return false;
            if (at_end())
                return fail(i_, unclosed());
            if (t_[i_] == ']')
                return ++i_, true;
            if (t_[i_] == ',') {
                comma = i_++;
                continue;
            }
            if (t_[i_] == '"' || t_[i_] == '{' || t_[i_] == '[' || is_word_char(t_[i_]))
                return fail(last_end_, "missing comma after this element (the next one starts at " + where(i_) + ")");
            if (t_[i_] == '}')
                return fail(i_, "'}' does not close the array opened at " + where(open) + "; expected ',' or ']'");
            return fail(i_, "expected ',' or ']' in the array opened at " + where(open) + ", found " + name_at(i_));
        }
    }

    bool string()
    {
        const std::size_t open = i_++;
        const auto unterminated = [&] { return "unterminated string (started at " + where(open) + ")"; };
        while (!at_end()) {
            const auto c = static_cast<unsigned char>(t_[i_]);
            if (c == '"')
                return ++i_, true;
            if (c == '\n' || c == '\r')
                return fail(i_, unterminated() + "; a string cannot span lines (write \\n for a line break)");
            if (c == '\\' && i_ + 1 >= t_.size())
                break;
            if (c == '\\') {
                if (!escape())
                    return false;
                continue;
            }
            if (c == 0)
                return fail(i_, "NUL byte (0x00) in a string");
            if (c < 0x20)
                return fail(i_, "control character " + hex_byte(c) + " in a string; write it escaped (\\t for a tab)");
            const std::size_t n = utf8_length(t_, i_);
            if (n == 0)
                return fail(i_, "byte " + hex_byte(c) + " in a string is not UTF-8; save the file as UTF-8");
            i_ += n;
        }
        return fail(i_, unterminated() + "; the file ends before its closing \"");
    }

    // A \uXXXX escape's value, or -1 if the 4 characters after `k` are not hex.
    long hex4(std::size_t k) const
    {
        if (k + 4 > t_.size())
            return -1;
        long v = 0;
        for (std::size_t j = k; j < k + 4; ++j) {
            const char c = t_[j];
            const int d = is_digit(c)            ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        return v;
    }

    bool escape()
    {
        const std::size_t slash = i_;
        const char e = at(i_ + 1);
        if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't')
            return i_ += 2, true;
        if (e != 'u')
            return fail(slash, "invalid escape \\" + printable(t_.substr(i_ + 1, 1)) +
                                   " in a string; the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX (write "
                                   "\\\\ for a backslash)");
        const long cp = hex4(i_ + 2);
        if (cp < 0)
            return fail(slash, "\\u must be followed by 4 hexadecimal digits");
        i_ += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail(slash, "\\u escape of a lone low surrogate (it must follow a \\uD800-\\uDBFF escape)");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            const long low = at(i_) == '\\' && at(i_ + 1) == 'u' ? hex4(i_ + 2) : -1;
            if (low < 0xDC00 || low > 0xDFFF)
                return fail(slash, "\\u escape of a high surrogate not followed by a low one (\\uDC00-\\uDFFF)");
            i_ += 6;
        }
        return true;
    }

    bool number()
    {
        const std::size_t start = i_;
        if (t_[i_] == '-')
            ++i_;
        if (!is_digit(at(i_)) || at_end())
            return fail(start, "'-' must be followed by a digit");
        if (t_[i_] == '0' && (at(i_ + 1) == 'x' || at(i_ + 1) == 'X'))
            return fail(start, "hexadecimal numbers are not JSON; write the number in decimal");
        if (t_[i_] == '0' && is_digit(at(i_ + 1)))
            return fail(start, "a number may not start with 0 (leading zeros are not JSON)");
        while (is_digit(at(i_)) && !at_end())
            ++i_;
        if (at(i_) == '.' && !at_end()) {
            ++i_;
            if (!is_digit(at(i_)) || at_end())
                return fail(i_, "a digit must follow the decimal point");
            while (is_digit(at(i_)) && !at_end())
                ++i_;
        }
        if ((at(i_) == 'e' || at(i_) == 'E') && !at_end()) {
            ++i_;
            if ((at(i_) == '+' || at(i_) == '-') && !at_end())
                ++i_;
            if (!is_digit(at(i_)) || at_end())
                return fail(i_, "the exponent needs digits");
            while (is_digit(at(i_)) && !at_end())
                ++i_;
        }
        if (!at_end() && is_word_char(t_[i_])) {
            while (!at_end() && is_word_char(t_[i_]))
                ++i_;
            return fail(start, "invalid number " + std::string(t_.substr(start, i_ - start)));
        }
        const std::string text(t_.substr(start, i_ - start));
        // nlohmann reads an integer too long for 64 bits as a double, too.
        if (std::isinf(std::strtod(text.c_str(), nullptr)))
            return fail(start, "the number " + text + " is too large (beyond a double's range)");
        return true;
    }

    // A bare word where a value should be: true, false, null, or a mistake.
    bool word(const Slot& slot)
    {
        const std::size_t start = i_;
        while (!at_end() && is_word_char(t_[i_]))
            ++i_;
        const std::string w(t_.substr(start, i_ - start));
        if (w == "true" || w == "false" || w == "null")
            return true;
        if (w.empty())
            return fail(start, "expected " + what(slot) + ", found " + name_at(start));
        if (w[0] == '+' || w[0] == '.')
            return fail(start, "a number starts with a digit or '-' (write " +
                                   std::string(w[0] == '.' ? "0" + w : w.substr(1)) + ")");
        std::string lower = w;
        for (char& c : lower)
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        if (lower == "true" || lower == "false" || lower == "null")
            return fail(start, w + " is not JSON; its literals are lower case: " + lower);
        if (lower == "nan" || lower == "infinity")
            return fail(start, w + " is not a JSON number");
        return fail(start,
                    "bare word " + w + " is not a JSON value; a string is written in double quotes (\"" + w + "\")");
    }

    std::string_view t_;
    std::size_t i_ = 0;
    std::size_t last_end_ = 0; // one past the last complete value
    std::optional<Found> problem_;
};

SourcePos position(std::string_view t, std::size_t offset)
{
    SourcePos p{1, 1};
    std::size_t line_start = 0;
    for (std::size_t k = 0; k < offset && k < t.size(); ++k)
        if (t[k] == '\n')
            ++p.line, line_start = k + 1;
    p.col = static_cast<int>(offset - line_start + 1);
    return p;
}

} // namespace

std::optional<SyntaxProblem> find_syntax_problem(std::string_view text)
{
    if (text.empty())
        return SyntaxProblem{{}, "the file is empty"};
    if (const std::string wide = wide_encoding(text); !wide.empty())
        return SyntaxProblem{{}, "the file is " + wide + "; save it as UTF-8"};
    // nlohmann stops reading at a NUL; read only what it reads, then name the
    // NUL unless there is a mistake before it.
    const std::size_t nul = text.find('\0');
    Reader reader(text.substr(0, nul));
    auto found = reader.document();
    const auto at = [&](std::size_t offset) { return offset == kWholeFile ? SourcePos{} : position(text, offset); };
    if (nul == kNpos)
        return found ? std::optional(SyntaxProblem{at(found->offset), found->message}) : std::nullopt;
    if (found && found->offset < nul)
        return SyntaxProblem{at(found->offset), found->message};
    const SourcePos end = position(text, reader.document_end());
    return SyntaxProblem{position(text, nul),
                         found ? "NUL byte (0x00): a configuration file is text and may not contain one"
                               : "NUL byte (0x00) after the end of the document (it ended at " +
                                     std::to_string(end.line) + ":" + std::to_string(end.col) +
                                     "); only whitespace and comments may follow it"};
}

} // namespace kextconf
