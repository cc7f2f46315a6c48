// A kext's schema outside the kext: its describe answer (every tunable's
// descriptor) with the bundle id, kext version and protocol version, as a JSON
// Schema document (draft 2020-12) that editors and `kextconfctl schema` use
// and that `kextconfd --check --schema FILE` validates against when the kext
// is not loaded. kextconfd saves the same document in its state directory
// each time it reads a kext's schema.
//
// The standard keywords (type, minimum, maximum, enum, maxLength, maxItems,
// default, description) serve JSON Schema tools; the kextconf descriptor is
// carried whole in an "x-kextconf" object per tunable, so the conversion back
// loses nothing and never depends on how a tool renders the standard part:
//
//   {"$schema": "https://json-schema.org/draft/2020-12/schema",
//    "title": "...", "type": "object", "required": ["kext", "tunables"],
//    "properties": {
//      "kext": {"const": "<bundle id>", ...},
//      "tunables": {"type": "object", "additionalProperties": false,
//        "properties": {
//          "<name>": {"description": "<help>", "type": ..., "default": ...,
//                     "x-kextconf": {"index": N, "type": "uint64",
//                                    "flags": ["load-only", "hidden"],
//                                    "unit": "ms", "min": N, "max": N,
//                                    "max_count": N, "default": <value>,
//                                    "enum": ["a", ...]}}, ...}}},
//    "x-kextconf": {"format": 1, "bundle_id": "...", "kext_version": "...",
//                   "proto_version": N}}
//
// A tunable's name is its property name and its help the "description";
// everything else comes from "x-kextconf". min/max are JSON integers (signed
// for int64 and int64_list, unsigned otherwise); default is the value as the
// configuration file writes it.
//
// Pure functions over their arguments; safe to call from any thread.
#pragma once

#include <kextconf/config_loader.hpp>

#include <kextconf/codec.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kextconf {

class KextClient;
struct KextError;

// Version of the "x-kextconf" layout above; bumped when a field changes meaning.
inline constexpr int kSchemaFormat = 1;

// Largest schema file read (a real one is a few KiB per tunable).
inline constexpr std::size_t kMaxSchemaBytes = 4u * 1024u * 1024u;

struct KextSchema {
    std::string bundle_id;
    std::string kext_version;
    std::uint32_t proto_version = 0;
    std::vector<proto::TunableDesc> tunables; // in index order
};

// The JSON Schema document for `schema`.
nlohmann::json schema_to_json(const KextSchema& schema);

// Reads a document made by schema_to_json back. Every problem goes to
// `errors` as `file:line:col: error: ...` (file names the document for
// messages); nullopt if there was any.
std::optional<KextSchema> schema_from_text(std::string_view text, const std::string& file,
                                           std::vector<Diagnostic>& errors);

// Reads and converts a schema file (at most kMaxSchemaBytes). No ownership
// rule: a schema is only ever used to check a file, never to apply one.
std::optional<KextSchema> load_schema_file(const std::string& path, std::vector<Diagnostic>& errors);

// The running kext's schema through `kext` (hello and describe).
KextError read_kext_schema(KextClient& kext, KextSchema& out);

} // namespace kextconf
