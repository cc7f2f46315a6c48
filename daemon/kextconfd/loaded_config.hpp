// A configuration kextconfd holds: the parsed document, the exact text it
// came from (saved as the last good copy once the kext accepts it), where it
// came from, and its values fitted to the schema of one kext load. A
// document is validated once per kext load (fit() below), however many times
// it is applied, compared for drift or used to recognise the kext's hash.
//
// Threading: the io_context thread only.
#pragma once

#include <kextconf/config_loader.hpp>

#include <kextconf/codec.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kextconf {

class KextSession;

// Where a configuration came from.
enum class ConfigOrigin {
    File,      // the config file
    SavedCopy, // the state directory's last good copy (the file was unusable at start-up)
};

// The document's values against one kext load's schema.
struct FittedValues {
    std::string bundle;
    std::uint32_t load_id = 0;
    std::vector<Diagnostic> errors;   // empty when the document fits
    std::vector<proto::Value> values; // every tunable in schema order: the file's, else the default
    bool fits() const { return errors.empty(); }
};

struct LoadedConfig {
    ConfigDocument doc;
    std::string text;
    ConfigOrigin origin = ConfigOrigin::File;
    std::optional<FittedValues> fitted; // for the last kext load it met (fit())
};

// The configuration's values for the load `session` follows, validated the
// first time this load is met and remembered in `config.fitted`.
const FittedValues& fit(LoadedConfig& config, const KextSession& session);

} // namespace kextconf
