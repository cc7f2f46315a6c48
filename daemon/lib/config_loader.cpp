#include "config_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <system_error>
#include <unordered_map>

namespace kextconf {

namespace {

using nlohmann::json;

// Largest value payload one TXN_SET option carries: strings are never split
// across options (codec.hpp encode_set_chunks), so a longer one cannot be sent.
constexpr std::size_t kMaxOptionPayload = KC_OPT_MAX_LEN - sizeof(kc_value_hdr);

// Longest key or string value quoted back in a message.
constexpr std::size_t kMaxQuoted = 64;

std::string quote_json(std::string_view s)
{
    const json j = std::string(s.substr(0, kMaxQuoted));
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + (s.size() > kMaxQuoted ? "..." : "");
}

std::string describe(const json& v)
{
    return v.is_string()   ? quote_json(v.get_ref<const std::string&>())
           : v.is_object() ? "an object"
           : v.is_array()  ? "an array"
                           : v.dump();
}

std::string hint(const std::string& suggestion)
{
    return suggestion.empty() ? "" : "; did you mean " + quote_json(suggestion) + "?";
}

// Collects one call's diagnostics, keeps at most kMaxDiagnostics, and hands
// them over in source order.
class DiagnosticSink {
public:
    explicit DiagnosticSink(const std::string& file) : file_(file) {}

    bool full() const { return items_.size() >= kMaxDiagnostics; }
    void add(SourcePos at, std::string message)
    {
        if (full())
            ++dropped_;
        else
            items_.push_back({file_, at.line, at.col, std::move(message)});
    }
    // Appends to `out`; true if there was anything to report.
    bool flush(std::vector<Diagnostic>& out)
    {
        std::stable_sort(items_.begin(), items_.end(), [](const auto& a, const auto& b) {
            return std::pair(a.line, a.col) < std::pair(b.line, b.col);
        });
        const bool any = !items_.empty();
        std::move(items_.begin(), items_.end(), std::back_inserter(out));
        if (dropped_ > 0)
            out.push_back({file_, 0, 0, std::to_string(dropped_) + " more errors not shown"});
        items_.clear();
        dropped_ = 0;
        return any;
    }

private:
    const std::string& file_;
    std::vector<Diagnostic> items_;
    std::size_t dropped_ = 0;
};

// Byte offset -> line:col. Increasing offsets cost O(text) altogether; a
// smaller offset than the last one restarts from the top.
class LineCursor {
public:
    explicit LineCursor(std::string_view text) : text_(text) {}

    SourcePos at(std::size_t offset)
    {
        offset = std::min(offset, text_.size());
        if (offset < off_)
            off_ = line_start_ = 0, line_ = 1;
        while (off_ < offset) {
            const auto* nl = static_cast<const char*>(std::memchr(text_.data() + off_, '\n', offset - off_));
            if (nl == nullptr)
                break;
            off_ = line_start_ = static_cast<std::size_t>(nl - text_.data()) + 1;
            ++line_;
        }
        off_ = offset;
        return {line_, static_cast<int>(offset - line_start_ + 1)};
    }

private:
    std::string_view text_;
    std::size_t off_ = 0, line_start_ = 0;
    int line_ = 1;
};

// A char iterator that publishes how far nlohmann's lexer has read.
class CountingIterator {
public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    CountingIterator(const char* p, const char** high) : p_(p), high_(high) {}
    reference operator*() const { return *p_; }
    CountingIterator& operator++() { return *high_ = ++p_, *this; }
    friend bool operator==(const CountingIterator& a, const CountingIterator& b) { return a.p_ == b.p_; }

private:
    const char* p_;
    const char** high_;
};

bool is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// SAX handler that builds the json and its SourceMap. When a callback runs the
// lexer has read exactly through the token reported (plus one lookahead byte
// after a number), so the token's start is found by scanning back over it.
// Exact for every input the parser accepts: a lookahead that could belong to a
// number fails the parse, and then no position is used.
class DocumentBuilder {
public:
    DocumentBuilder(std::string_view text, DiagnosticSink& sink, SourceMap& map, json& root)
        : text_(text), high_(text.data()), lines_(text), sink_(sink), map_(map), root_(root)
    {
    }

    CountingIterator begin() { return {text_.data(), &high_}; }
    CountingIterator end() { return {text_.data() + text_.size(), &high_}; }

    bool null() { return place(nullptr, read() - 4); }
    bool boolean(bool b) { return place(b, read() - (b ? 4 : 5)); }
    bool number_integer(json::number_integer_t v) { return place(v, number_start()); }
    bool number_unsigned(json::number_unsigned_t v) { return place(v, number_start()); }
    bool number_float(json::number_float_t v, const json::string_t&) { return place(v, number_start()); }
    bool string(json::string_t& s) { return place(std::move(s), string_start()); }
    bool binary(json::binary_t&) { return false; } // never produced by the JSON parser
    bool start_object(std::size_t) { return open(json::object()); }
    bool start_array(std::size_t) { return open(json::array()); }
    bool end_array() { return stack_.pop_back(), true; }
    bool end_object()
    {
        for (const auto& dup : map_.finish_object(stack_.back().id))
            sink_.add(dup.later, "duplicate key " + quote_json(dup.key) + " (first at line " +
                                     std::to_string(dup.first.line) + ")");
        return stack_.pop_back(), true;
    }
    bool key(json::string_t& k)
    {
        key_pos_ = lines_.at(string_start());
        key_ = std::move(k);
        return true;
    }
    bool parse_error(std::size_t position, const std::string&, const json::exception& ex)
    {
        const auto* pe = dynamic_cast<const json::parse_error*>(&ex);
        const std::size_t byte = pe != nullptr ? pe->byte : position; // 1-based; size + 1 at end of input
        std::string_view what = ex.what(); // "[json.exception.parse_error.101] parse error at line L, column C: tail"
        auto drop_through = [&what](std::string_view lead, std::string_view sep) {
            if (what.starts_with(lead) && what.find(sep) != std::string_view::npos)
                what.remove_prefix(what.find(sep) + sep.size());
        };
        drop_through("[json.exception.", "] ");
        drop_through("parse error", ": ");
        sink_.add(LineCursor(text_).at(byte > 0 ? byte - 1 : 0), std::string(what));
        return false;
    }

private:
    struct Frame {
        json* value;
        SourceMap::NodeId id;
    };

    std::size_t read() const { return static_cast<std::size_t>(high_ - text_.data()); }

    std::size_t number_start() const
    {
        std::size_t start = read();
        if (start > 0 && !is_number_char(text_[start - 1]))
            --start; // the lookahead byte
        while (start > 0 && is_number_char(text_[start - 1]))
            --start;
        return start;
    }

    // Inside a string every '"' follows an odd run of backslashes; the opening
    // quote follows none (outside strings a backslash is a syntax error).
    std::size_t string_start() const
    {
        for (std::size_t i = read() - 1; i-- > 0;) {
            std::size_t slashes = 0;
            while (text_[i] == '"' && slashes < i && text_[i - 1 - slashes] == '\\')
                ++slashes;
            if (text_[i] == '"' && slashes % 2 == 0)
                return i;
        }
        return 0;
    }

    std::pair<json*, SourceMap::NodeId> insert(json&& v, std::size_t start, bool container)
    {
        const SourcePos at = lines_.at(start);
        if (stack_.empty()) {
            root_ = std::move(v);
            return {&root_, map_.add_node({}, at, container)};
        }
        const Frame& top = stack_.back();
        const SourceMap::NodeId id = map_.add_node(top.value->is_array() ? SourcePos{} : key_pos_, at, container);
        if (top.value->is_array()) {
            map_.add_item(top.id, id);
            top.value->get_ref<json::array_t&>().push_back(std::move(v));
            return {&top.value->back(), id};
        }
        map_.add_member(top.id, key_, id);
        json& slot = top.value->get_ref<json::object_t&>()[std::move(key_)];
        slot = std::move(v);
        return {&slot, id};
    }

    bool place(json v, std::size_t start) { return insert(std::move(v), start, false), true; }

    bool open(json v)
    {
        const std::size_t start = read() - 1;
        if (stack_.size() >= static_cast<std::size_t>(kMaxNestingDepth)) {
            sink_.add(lines_.at(start), "nesting deeper than " + std::to_string(kMaxNestingDepth) + " levels");
            return false;
        }
        const auto [slot, id] = insert(std::move(v), start, true);
        stack_.push_back({slot, id});
        return true;
    }

    std::string_view text_;
    const char* high_; // one past the last byte the lexer read
    LineCursor lines_;
    DiagnosticSink& sink_;
    SourceMap& map_;
    json& root_;
    std::vector<Frame> stack_;
    std::string key_;
    SourcePos key_pos_;
};

void check_top_level(json& root, ConfigDocument& doc, DiagnosticSink& sink)
{
    if (!root.is_object())
        return sink.add(doc.value_pos(""), "the configuration must be a JSON object, got " + describe(root));
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string& key = it.key();
        json& v = it.value();
        const std::string ptr = "/" + pointer_token(key);
        if (key == "kext" && (!v.is_string() || v.get_ref<const std::string&>().empty()))
            sink.add(doc.value_pos(ptr),
                     "\"kext\" must be the kext's bundle id (a non-empty string), got " + describe(v));
        else if (key == "kext" && v.get_ref<const std::string&>().size() >= KC_BUNDLE_ID_MAX)
            sink.add(doc.value_pos(ptr),
                     "\"kext\" is longer than a bundle id may be (" + std::to_string(KC_BUNDLE_ID_MAX - 1) + " bytes)");
        else if (key == "kext")
            doc.kext = v.get<std::string>();
        else if (key == "tunables" && !v.is_object())
            sink.add(doc.value_pos(ptr), "\"tunables\" must be an object (tunable name -> value), got " + describe(v));
        else if (key == "tunables")
            doc.tunables = std::move(v);
        else if (key != "$schema" && !key.starts_with("x-"))
            sink.add(doc.key_pos(ptr), "unknown top-level key " + quote_json(key) +
                                           hint(suggest(key, {"kext", "tunables"})) +
                                           " (keys starting with \"x-\" are ignored)");
    }
    for (const char* required : {"kext", "tunables"})
        if (!root.contains(required))
            sink.add(doc.value_pos(""), "missing required key \"" + std::string(required) + "\"");
}

// Checks one tunable's JSON value against its descriptor; each problem is
// reported at the value, or at the list element concerned.
class ValueChecker {
public:
    ValueChecker(const ConfigDocument& doc, DiagnosticSink& sink, const proto::TunableDesc& desc, std::string ptr)
        : doc_(doc), sink_(sink), d_(desc), ptr_(std::move(ptr))
    {
    }

    std::optional<proto::Value> check(const json& v)
    {
        using proto::Value;
        switch (d_.type) {
        case KC_TYPE_BOOL:
            if (!v.is_boolean())
                return fail(-1, "expected true or false, got " + describe(v));
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
        sink_.add(sink_.full() ? SourcePos{} : doc_.value_pos(at),
                  "tunable " + quote_json(d_.name) + where + ": " + what);
        return std::nullopt;
    }

    template <class T>
    static std::string range(T lo, T hi)
    {
        return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    }

    std::optional<std::int64_t> int_value(const json& v, std::int64_t element)
    {
        if (!v.is_number_integer())
            return fail(element, "expected an integer in " + range(d_.min.i, d_.max.i) + ", got " + describe(v));
        const bool fits = !v.is_number_unsigned() || v.get<std::uint64_t>() <= std::uint64_t{INT64_MAX};
        if (!fits || v.get<std::int64_t>() < d_.min.i || v.get<std::int64_t>() > d_.max.i)
            return fail(element, v.dump() + " is out of range " + range(d_.min.i, d_.max.i));
        return v.get<std::int64_t>();
    }

    std::optional<proto::Value> uint_value(const json& v)
    {
        const std::string r = range(d_.min.u, d_.max.u);
        if (!v.is_number_integer())
            return fail(-1, "expected an unsigned integer in " + r + ", got " + describe(v));
        if (!v.is_number_unsigned() && v.get<std::int64_t>() < 0)
            return fail(-1, v.dump() + " is out of range " + r + " (must not be negative)");
        if (v.get<std::uint64_t>() < d_.min.u || v.get<std::uint64_t>() > d_.max.u)
            return fail(-1, v.dump() + " is out of range " + r);
        return proto::Value::of_uint(v.get<std::uint64_t>());
    }

    std::optional<proto::Value> enum_value(const json& v)
    {
        std::string allowed;
        for (const auto& n : d_.enum_names)
            allowed += (allowed.empty() ? "" : ", ") + quote_json(n);
        if (!v.is_string())
            return fail(-1, "expected one of " + allowed + ", got " + describe(v));
        const auto& s = v.get_ref<const std::string&>();
        const auto it = std::find(d_.enum_names.begin(), d_.enum_names.end(), s);
        if (it == d_.enum_names.end())
            return fail(-1, quote_json(s) + " is not one of " + allowed +
                                hint(sink_.full() ? "" : suggest(s, d_.enum_names)));
        return proto::Value::of_enum(static_cast<std::uint32_t>(it - d_.enum_names.begin()));
    }

    std::optional<std::string> string_value(const json& v, std::int64_t element, std::size_t max_bytes)
    {
        if (!v.is_string())
            return fail(element, "expected a string, got " + describe(v));
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
            return fail(-1, std::string("expected an array of ") + (ints ? "integers" : "strings") + ", got " +
                                describe(v));
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
                auto s = string_value(v[i], element, kMaxOptionPayload - 1); // each travels NUL-terminated
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

std::string Diagnostic::str() const
{
    if (line == 0)
        return file + ": error: " + message;
    return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": error: " + message;
}

std::string pointer_token(std::string_view key)
{
    std::string out;
    for (char c : key)
        out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    return out;
}

SourceMap::NodeId SourceMap::add_node(SourcePos key, SourcePos value, bool container)
{
    nodes_.push_back({key, value, container ? static_cast<std::int32_t>(containers_.size()) : -1});
    if (container)
        containers_.emplace_back();
    return static_cast<NodeId>(nodes_.size() - 1);
}

std::vector<SourceMap::Duplicate> SourceMap::finish_object(NodeId object)
{
    auto& m = containers_[nodes_[object].container].members;
    std::stable_sort(m.begin(), m.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Duplicate> dups;
    std::size_t kept = 0;
    for (std::size_t i = 0, j = 0; i < m.size(); i = j, ++kept) {
        for (j = i + 1; j < m.size() && m[j].first == m[i].first; ++j)
            dups.push_back({m[j].first, nodes_[m[i].second].key, nodes_[m[j].second].key});
        if (kept != j - 1)
            m[kept] = std::move(m[j - 1]); // the last occurrence wins, as in the json
    }
    m.resize(kept);
    return dups;
}

std::optional<SourceMap::NodeId> SourceMap::find(std::string_view pointer) const
{
    if (nodes_.empty() || (!pointer.empty() && pointer[0] != '/'))
        return std::nullopt;
    NodeId id = 0;
    while (!pointer.empty()) {
        const std::string_view raw = pointer.substr(1, pointer.find('/', 1) - 1);
        pointer.remove_prefix(raw.size() + 1);
        std::string token;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '~' && (i + 1 == raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1')))
                return std::nullopt;
            token += raw[i] != '~' ? raw[i] : raw[++i] == '0' ? '~' : '/';
        }
        if (nodes_[id].container < 0)
            return std::nullopt;
        const Container& c = containers_[nodes_[id].container];
        if (!c.members.empty()) {
            const auto it = std::lower_bound(c.members.begin(), c.members.end(), token,
                                             [](const auto& m, const std::string& k) { return m.first < k; });
            if (it == c.members.end() || it->first != token)
                return std::nullopt;
            id = it->second;
            continue;
        }
        std::size_t index = 0;
        const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
        if (ec != std::errc() || end != token.data() + token.size() || (token.size() > 1 && token[0] == '0') ||
            index >= c.items.size())
            return std::nullopt;
        id = c.items[index];
    }
    return id;
}

std::optional<ConfigDocument> parse_config(std::string_view text, const std::string& file,
                                           std::vector<Diagnostic>& errors)
{
    DiagnosticSink sink(file);
    if (text.size() > kMaxConfigBytes) {
        sink.add({}, "configuration is " + std::to_string(text.size()) + " bytes, over the limit of " +
                         std::to_string(kMaxConfigBytes) + " bytes");
        return sink.flush(errors), std::nullopt;
    }
    ConfigDocument doc;
    doc.file = file;
    json root;
    DocumentBuilder builder(text, sink, doc.positions, root);
    const bool parsed = json::sax_parse(builder.begin(), builder.end(), &builder, json::input_format_t::json,
                                        /*strict=*/true, /*ignore_comments=*/true);
    if (parsed)
        check_top_level(root, doc, sink);
    if (sink.flush(errors) || !parsed)
        return std::nullopt;
    return doc;
}

std::optional<ValidatedConfig> validate_config(const ConfigDocument& doc, const std::vector<proto::TunableDesc>& schema,
                                               std::vector<Diagnostic>& errors)
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
        if (found == by_name.end())
            sink.add(doc.key_pos(ptr),
                     "unknown tunable " + quote_json(it.key()) + hint(sink.full() ? "" : suggest(it.key(), names)));
        else if (auto value = ValueChecker(doc, sink, *found->second, ptr).check(it.value()))
            out.values.emplace_back(found->second->index, std::move(*value));
    }
    if (sink.flush(errors))
        return std::nullopt;
    std::sort(out.values.begin(), out.values.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
}

std::optional<std::string> read_config_file(const std::string& path, std::vector<Diagnostic>& errors)
{
    auto fail = [&](std::string message) { return errors.push_back({path, 0, 0, std::move(message)}), std::nullopt; };
    auto why = [](int err) { return std::generic_category().message(err); };
    // O_NONBLOCK: opening a FIFO must not hang the daemon; fstat refuses it below.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        const int err = errno;
        struct stat lst {};
        if (err == ELOOP && ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
            return fail("is a symbolic link; refusing to follow it (name the file itself)");
        return fail("cannot open: " + why(err));
    }
    const std::unique_ptr<const int, void (*)(const int*)> closer(&fd, [](const int* f) { ::close(*f); });
    // check_config_ownership(fd) (root-owned, not group/world-writable) belongs here, on the open fd.
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return fail("cannot stat: " + why(errno));
    if (!S_ISREG(st.st_mode))
        return fail(std::string("not a regular file (") +
                    (S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                                            : "a device or socket") +
                    ")");
    if (static_cast<std::uint64_t>(st.st_size) > kMaxConfigBytes)
        return fail("is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                    std::to_string(kMaxConfigBytes) + " bytes");
    std::string text;
    text.reserve(static_cast<std::size_t>(st.st_size));
    char buf[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail("cannot read: " + why(errno));
        if (n == 0)
            return text;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > kMaxConfigBytes)
            return fail("grew over the limit of " + std::to_string(kMaxConfigBytes) + " bytes while being read");
    }
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
