// Presenting and combining tunable values: text and JSON forms for people and
// scripts, and the complete desired configuration (defaults + file).
// Pure functions; any thread.
#pragma once

#include <kextconf/codec.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kextconf {

// `true`, `42`, `debug`, `"text"`, `[1, 2]`.
std::string format_value(const proto::TunableDesc& desc, const proto::Value& v);
nlohmann::json value_to_json(const proto::TunableDesc& desc, const proto::Value& v);

// Every tunable's value in index order: the default, or what the file sets.
// A tunable the file does not mention is reset to its default, so removing a
// line from the file takes its setting back out of the kext.
std::vector<proto::Value> desired_values(const std::vector<proto::TunableDesc>& schema,
                                         const std::vector<std::pair<std::uint32_t, proto::Value>>& from_file);

// A configuration's content hash (kc_state.config_hash) as every program
// prints it, in text and JSON alike: 16 lowercase hex digits, no prefix.
std::string format_config_hash(std::uint64_t hash);

// "1 client", "2 clients": a count and its noun, in every program's text.
std::string counted(std::uint64_t n, const std::string& noun);

// The describe entry with `index`, or nullptr.
const proto::TunableDesc* find_desc(const std::vector<proto::TunableDesc>& schema, std::uint32_t index);

} // namespace kextconf
