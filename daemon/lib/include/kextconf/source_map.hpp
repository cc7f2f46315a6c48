// Source positions for a JSON document: where each key and value sits in the
// text, addressed by JSON pointer, and the parser that records them.
// A SourceMap is a plain value (no locking): build it on one thread, then any
// number of threads may read it. The free functions are pure; safe to call from
// any thread.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kextconf {

class DiagnosticSink; // diagnostic_sink.hpp

// Deepest nesting of objects and arrays accepted. The schema needs 3 levels;
// the cap keeps recursion in any later consumer of the document bounded.
inline constexpr int kMaxNestingDepth = 64;

// A place in the source text (1-based line, 1-based byte column).
struct SourcePos {
    int line = 0;
    int col = 0;

    friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

// Source positions of every key and value of a JSON document, addressed by
// JSON pointer (RFC 6901: "" is the root, "/tunables/a~1b/3"). Memory is linear
// in the number of values; a lookup costs O(depth * log(members)).
class SourceMap {
public:
    std::optional<SourcePos> value_pos(std::string_view pointer) const
    {
        const auto id = find(pointer);
        return id ? std::optional(nodes_[*id].value) : std::nullopt;
    }
    // Position of the key naming the member at `pointer` (nullopt for the root
    // and for array elements).
    std::optional<SourcePos> key_pos(std::string_view pointer) const
    {
        const auto id = find(pointer);
        return id && nodes_[*id].key.line > 0 ? std::optional(nodes_[*id].key) : std::nullopt;
    }

    // Building, in document order; used by parse_json_with_positions. Node 0 is the root.
    using NodeId = std::uint32_t;
    NodeId add_node(SourcePos key, SourcePos value, bool container);
    void add_item(NodeId array, NodeId child) { containers_[nodes_[array].container].items.push_back(child); }
    void add_member(NodeId object, std::string key, NodeId child)
    {
        containers_[nodes_[object].container].members.emplace_back(std::move(key), child);
    }
    // Sorts the object's members for lookup and returns every later occurrence
    // of a repeated key (the later one wins, as in the parsed document).
    struct Duplicate {
        std::string key;
        SourcePos first; // key positions
        SourcePos later;
    };
    std::vector<Duplicate> finish_object(NodeId object);

private:
    struct Node {
        SourcePos key;
        SourcePos value;
        std::int32_t container = -1; // index into containers_, -1 for scalars
    };
    struct Container {
        std::vector<NodeId> items;                           // arrays, by index
        std::vector<std::pair<std::string, NodeId>> members; // objects, sorted by key once finished
    };

    std::optional<NodeId> find(std::string_view pointer) const;

    std::vector<Node> nodes_;
    std::vector<Container> containers_;
};

// Parses JSON text (comments allowed) into `root`, recording the position of
// every key and value in `map`. Reports to `sink` each syntax error, duplicate
// key (the later one wins) and nesting deeper than kMaxNestingDepth; returns
// false if the parse stopped (a syntax error or nesting too deep).
bool parse_json_with_positions(std::string_view text, nlohmann::json& root, SourceMap& map, DiagnosticSink& sink);

// RFC 6901 escaping of one pointer token ("~" -> "~0", "/" -> "~1").
std::string pointer_token(std::string_view key);

} // namespace kextconf
