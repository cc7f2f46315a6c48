// SourceMap and the SAX parser that builds a JSON document together with the
// source position of every key and value. Pure functions over their
// arguments; safe to call from any thread.
#include <kextconf/source_map.hpp>

#include "diagnostic_sink.hpp"
#include <kextconf/json_syntax.hpp>
#include <kextconf/text_encoding.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <system_error>

namespace kextconf {

namespace {

using nlohmann::json;

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
        syntax_error_ = {LineCursor(text_).at(byte > 0 ? byte - 1 : 0), printable(what)};
        return false;
    }

    // nlohmann's own account of the syntax error that stopped the parse, if
    // one did (find_syntax_problem usually words it better).
    const std::optional<SyntaxProblem>& syntax_error() const { return syntax_error_; }

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
    std::optional<SyntaxProblem> syntax_error_;
};

} // namespace

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

bool parse_json_with_positions(std::string_view text, json& root, SourceMap& map, DiagnosticSink& sink)
{
    // nlohmann's lexer takes a NUL for the end of the input; give it the text
    // up to one, and let find_syntax_problem name the NUL.
    const std::size_t nul = text.find('\0');
    DocumentBuilder builder(text.substr(0, nul), sink, map, root);
    const bool parsed = json::sax_parse(builder.begin(), builder.end(), &builder, json::input_format_t::json,
                                        /*strict=*/true, /*ignore_comments=*/true);
    if (parsed && nul == std::string_view::npos)
        return true;
    if (!parsed && !builder.syntax_error())
        return false; // the builder stopped the parse (nesting too deep) and said why
    if (auto problem = find_syntax_problem(text))
        sink.add(problem->at, std::move(problem->message));
    else if (builder.syntax_error())
        sink.add(builder.syntax_error()->at, builder.syntax_error()->message);
    return false;
}

} // namespace kextconf
