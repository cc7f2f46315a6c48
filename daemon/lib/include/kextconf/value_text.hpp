// Tunable values typed on a command line (`kextconfctl set NAME=VALUE`), read
// the way the kext's descriptor says, then checked by the same validator as
// kextconfd's config file. Pure functions; any thread.
#pragma once

#include <kextconf/config_loader.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kextconf {

// One NAME=VALUE argument split at the first '='; nullopt without one.
std::optional<std::pair<std::string, std::string>> split_assignment(std::string_view arg);

// The JSON a config file would hold for `text` given the tunable's type. One
// grammar for the file and the command line: what the file refuses (say
// "yes" for a bool), `set` refuses in the same words.
//   bool        true false
//   int, uint   a JSON number
//   enum        one of the names (quotes optional)
//   string      the text as it is (quotes optional: "a b" is read as JSON)
//   lists       a JSON array, or its elements comma-separated ("1,2,3", "a,b"),
//               "" for empty
// Text that does not read as the type is returned as a JSON string, so that the
// validator's message ("expected true or false, got \"yes\"") says why.
nlohmann::json text_to_json(const proto::TunableDesc& desc, std::string_view text);

// Validates `values` (name -> JSON) against `schema` as a config file's
// "tunables" would be; errors name the tunable ("tunable \"x\": ...").
std::optional<ValidatedConfig> validate_assignments(const std::string& kext, const nlohmann::json& values,
                                                    const std::vector<proto::TunableDesc>& schema,
                                                    std::vector<std::string>& errors);

} // namespace kextconf
