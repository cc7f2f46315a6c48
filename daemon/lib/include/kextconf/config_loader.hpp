// Loading kextconfd's JSON configuration: reading the file safely, parsing it
// (comments allowed, duplicate keys rejected) with a source position for every
// key and value, and validating it against the schema the running kext reports.
// Pure functions over their arguments; safe to call from any thread.
#pragma once

#include <kextconf/source_map.hpp>

#include <kextconf/codec.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <utility>
#include <vector>

namespace kextconf {

// Largest configuration file accepted. A real configuration is a few KiB; the
// cap bounds the memory a bad or hostile file can make the daemon (root) use.
inline constexpr std::size_t kMaxConfigBytes = 16u * 1024u * 1024u;

// Most diagnostics one call reports; the rest are counted in a final line.
// Keeps a pathological file from producing hundreds of MB of messages.
inline constexpr std::size_t kMaxDiagnostics = 200;

// One problem, ready for the user: `file:line:col: error: message`.
struct Diagnostic {
    std::string file;
    int line = 0; // 1-based; 0 when the problem is the file as a whole
    int col = 0;  // 1-based, in bytes from the start of the line
    std::string message;

    std::string str() const;
};

// A syntactically valid configuration with the right top-level shape.
struct ConfigDocument {
    std::string file;        // as given to parse_config, for diagnostics
    std::string kext;        // "kext": the bundle id of the kext to configure
    nlohmann::json tunables; // "tunables": an object, name -> value
    SourceMap positions;     // pointers are into the whole file, e.g. "/tunables/max_clients"

    // Position of the value (key) at `pointer`, or line 0 if there is none.
    SourcePos value_pos(std::string_view pointer) const { return positions.value_pos(pointer).value_or(SourcePos{}); }
    SourcePos key_pos(std::string_view pointer) const { return positions.key_pos(pointer).value_or(SourcePos{}); }
};

// Parses configuration text. Appends every problem found to `errors` (a syntax
// error stops the parse) and returns nullopt if there was any.
std::optional<ConfigDocument> parse_config(std::string_view text, const std::string& file,
                                           std::vector<Diagnostic>& errors);

// A configuration checked against the running kext's schema, ready to push.
struct ValidatedConfig {
    std::string kext;
    std::vector<std::pair<std::uint32_t, proto::Value>> values; // only tunables the file sets, by index
};

// Checks every tunable the document sets against `schema` (the kext's describe
// answer). Appends every problem to `errors`; nullopt if there was any.
std::optional<ValidatedConfig> validate_config(const ConfigDocument& doc, const std::vector<proto::TunableDesc>& schema,
                                               std::vector<Diagnostic>& errors);

// Reads a configuration file: refuses symlinks, non-regular files, files over
// kMaxConfigBytes, and (DESIGN rule 6) a file or any directory above it that
// does not belong to root (or to the user the daemon runs as) or that group or
// others can write, except a sticky root-owned directory such as /tmp.
std::optional<std::string> read_config_file(const std::string& path, std::vector<Diagnostic>& errors);

// A configuration file read whole: its exact text, the text's hash (a
// settled change that leaves the same bytes is no change) and the document
// parsed from it.
template <class Document> struct ReadFile {
    std::string text;
    std::size_t hash = 0;
    bool unchanged = false;      // the hash is the one the caller knew: not parsed again
    std::optional<Document> doc; // nullopt when unchanged, or when it does not parse (the reasons are in errors)
};
using ConfigFile = ReadFile<ConfigDocument>;

// Reads `path` (read_config_file) and hashes its text; unless the hash is
// `known` (the caller parsed these bytes before), `parse(text, errors)`
// makes the document. nullopt when the file cannot be read; every problem
// is appended to `errors`.
template <class Document, class Parse>
std::optional<ReadFile<Document>> read_and_parse(const std::string& path, std::vector<Diagnostic>& errors,
                                                 std::optional<std::size_t> known, Parse parse)
{
    auto text = read_config_file(path, errors);
    if (!text)
        return std::nullopt;
    ReadFile<Document> file;
    file.hash = std::hash<std::string>{}(*text);
    file.text = std::move(*text);
    file.unchanged = known == file.hash;
    if (!file.unchanged)
        file.doc = parse(file.text, errors);
    return file;
}

// The configuration file `path`, read and parsed (parse_config) in one call.
std::optional<ConfigFile> load_config_file(const std::string& path, std::vector<Diagnostic>& errors,
                                           std::optional<std::size_t> known = std::nullopt);

// Why a file with status `st` at `path` is not safe to take configuration
// from, or nullopt when it is (the rule above).
std::optional<std::string> unsafe_ownership(const std::string& path, const struct stat& st);

// "Did you mean": the candidate closest to `word` (edit distance <= 3 and less
// than the word's length, or one a prefix of the other), "" if none is close.
std::string suggest(std::string_view word, const std::vector<std::string>& candidates);

} // namespace kextconf
