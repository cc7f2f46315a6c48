// Writing a configuration profile (.mobileconfig) that carries kextconf's
// settings to Macs through an MDM: one com.apple.ManagedClient.preferences
// payload whose Forced mcx_preference_settings for the domain
// org.kextconf.kextconfd hold Kext and Tunables (kextconf/managed_prefs.hpp),
// in a Configuration profile scoped to the System. The text is an unsigned
// XML plist, ready to be signed (or uploaded to an MDM, which signs it).
// docs/fleet.md. Pure functions; any thread.
#pragma once

#include <kextconf/managed_prefs.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace kextconf {

struct MobileconfigOptions {
    std::string identifier;   // PayloadIdentifier of the profile; the payload's is identifier + ".kextconfd"
    std::string organization; // PayloadOrganization
    std::string profile_uuid; // PayloadUUID of the profile and of its payload (random_uuid())
    std::string payload_uuid;
    std::string domain = kManagedDomain;
};

// The profile's text for `kext` and `tunables` (an object of config.json
// values: booleans, integers, strings and arrays of them). nullopt with
// `error` set for a value a plist cannot carry (a real or null, an object).
std::optional<std::string> make_mobileconfig(const std::string& kext, const nlohmann::json& tunables,
                                             const MobileconfigOptions& options, std::string& error);

// A random (version 4) UUID in upper case, as profiles write them.
std::string random_uuid();

} // namespace kextconf
