// Reading a property list (XML "plist 1.0" or binary "bplist00") into JSON:
// dictionaries become objects, arrays arrays, strings strings, integers
// integers, reals numbers with a fraction, true/false booleans. <date> and
// <data> have no JSON form here and are refused, naming where they are.
//
// One parser for every platform, ours, so the code path kextconfd takes on
// a Mac (the managed-preferences file) is the one tested and fuzzed here;
// the tests hold it against libplist. It trusts nothing: sizes, offsets,
// references and nesting (at most kMaxPlistDepth) are checked before use.
// Pure functions; any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kextconf {

inline constexpr std::size_t kMaxPlistDepth = 64;

// The document's value, or nullopt with `error` set: a sentence naming the
// place (XML: "line N"; binary: the object) or the key path
// ("Tunables.ports[1]: a <date> ...").
std::optional<nlohmann::json> parse_plist(std::string_view bytes, std::string& error);

// "Tunables" + "max_clients" -> "Tunables.max_clients"; a root key alone.
inline std::string plist_key_path(const std::string& parent, const std::string& key)
{
    return parent.empty() ? key : parent + "." + key;
}

} // namespace kextconf
