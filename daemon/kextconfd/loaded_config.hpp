// A configuration kextconfd holds: the parsed document, the exact text it
// came from (saved as the last good copy once the kext accepts it), where it
// came from, the managed-preferences profile laid over it (default < file <
// managed; kextconf/managed_prefs.hpp), and its values fitted to the schema
// of one kext load. A
// document is validated once per kext load (fit() below), however many times
// it is applied, compared for drift or used to recognise the kext's hash.
//
// Threading: the io_context thread only.
#pragma once

#include <kextconf/admin_protocol.hpp>
#include <kextconf/config_loader.hpp>
#include <kextconf/managed_prefs.hpp>

#include <kextconf/codec.hpp>

#include <cstdint>
#include <memory>
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
    std::vector<Diagnostic> errors;   // empty when the document fits (the profile's are named by its domain)
    std::vector<proto::Value> values; // every tunable in schema order: the profile's, else the file's, else the default
    std::vector<admin::ValueSource> sources; // where each of `values` comes from
    bool fits() const { return errors.empty(); }
};

struct LoadedConfig {
    ConfigDocument doc;
    std::string text;
    ConfigOrigin origin = ConfigOrigin::File;
    std::shared_ptr<const ManagedPrefs> managed; // the profile over the file; null when there is none
    std::optional<FittedValues> fitted;          // for the last kext load it met (fit())

    // The kext to configure: the profile's "Kext" if it names one, else the file's.
    const std::string& kext() const { return managed && !managed->kext.empty() ? managed->kext : doc.kext; }
    // For log lines: "/etc/kextconf.json", or "/etc/kextconf.json and the profile org.kextconf.kextconfd".
    std::string label() const { return managed ? doc.file + " and the profile " + managed->domain : doc.file; }
};

// The configuration's values for the load `session` follows, validated the
// first time this load is met and remembered in `config.fitted`.
const FittedValues& fit(LoadedConfig& config, const KextSession& session);

} // namespace kextconf
