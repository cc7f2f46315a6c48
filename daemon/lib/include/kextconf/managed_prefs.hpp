// Managed preferences: the configuration an organisation's MDM profile
// forces on a Mac. macOS writes a profile's payload for the domain
// org.kextconf.kextconfd (KEXTCONF_BUNDLE_PREFIX + ".kextconfd") to
// /Library/Managed Preferences/<domain>.plist, root-owned; kextconfd reads
// that file (--managed-prefs-dir) and lays its values over config.json's:
// default < file < managed. docs/fleet.md.
//
// The payload's keys: "Kext" (the bundle id, a string; optional, else the
// file's) and "Tunables" (a dictionary: tunable -> value, the names and value
// grammar of config.json; plist integer, boolean, string and array stand for
// JSON's). Errors name the domain and the key path:
// `org.kextconf.kextconfd: error: Tunables.max_clients: expected an integer
// in [1, 1024], got the string "lots"`.
// Pure functions; any thread.
#pragma once

#include <kextconf/config_loader.hpp>
#include <kextconf/defaults.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kextconf {

// The preference domain kextconfd reads.
inline constexpr const char* kManagedDomain = KEXTCONF_BUNDLE_PREFIX ".kextconfd";
// Where macOS puts managed preferences (kextconfd's --managed-prefs-dir there).
inline constexpr const char* kMacManagedPrefsDir = "/Library/Managed Preferences";

struct ManagedPrefs {
    std::string domain;                                 // kManagedDomain
    std::string path;                                   // the file read
    std::string kext;                                   // "Kext"; "" when the profile leaves it to the file
    nlohmann::json tunables = nlohmann::json::object(); // "Tunables"

    bool manages(const std::string& tunable) const { return tunables.contains(tunable); }
};

// `dir`/`domain`.plist.
std::string managed_prefs_path(const std::string& dir, const std::string& domain = kManagedDomain);

// Parses a managed-preferences file's bytes (XML or binary plist). Every
// problem goes to `errors` (file = the domain, no line); nullopt if any.
std::optional<ManagedPrefs> parse_managed_prefs(std::string_view bytes, const std::string& path,
                                                std::vector<Diagnostic>& errors,
                                                const std::string& domain = kManagedDomain);

// Checks the profile's tunables against the kext's schema, with the
// messages above.
std::optional<ValidatedConfig> validate_managed(const ManagedPrefs& prefs,
                                                const std::vector<proto::TunableDesc>& schema,
                                                std::vector<Diagnostic>& errors);

} // namespace kextconf
