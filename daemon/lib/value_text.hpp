// Tunable values typed on a command line (`kextconfctl set NAME=VALUE`), read
// the way the kext's descriptor says, then checked by the same validator as
// kextconfd's config file. Pure functions; any thread.
#pragma once

#include "config_loader.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kextconf {

// One NAME=VALUE argument split at the first '='; nullopt without one.
std::optional<std::pair<std::string, std::string>> split_assignment(std::string_view arg);

// The JSON a config file would hold for `text` given the tunable's type:
//   bool        true false 1 0 yes no on off
//   int, uint   a decimal integer
//   enum        one of the names
//   string      the text as it is (no quotes needed)
//   lists       comma-separated ("1,2,3", "a,b"), "" for empty, or a JSON array
// Text that does not read as the type is returned as a JSON string, so that the
// validator's message ("expected an integer in [0, 10], got \"abc\"") says why.
nlohmann::json text_to_json(const proto::TunableDesc& desc, std::string_view text);

// Validates `values` (name -> JSON) against `schema` as a config file's
// "tunables" would be; errors name the tunable ("tunable \"x\": ...").
std::optional<ValidatedConfig> validate_assignments(const std::string& kext, const nlohmann::json& values,
                                                    const std::vector<proto::TunableDesc>& schema,
                                                    std::vector<std::string>& errors);

} // namespace kextconf
