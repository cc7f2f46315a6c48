// The layout of kextconfd's state directory, shared by the daemon (which
// writes it, daemon/kextconfd/state_store.hpp) and the checks that read the
// saved schema while the kext is away (check.hpp).
#pragma once

#include <kextconf/defaults.hpp>

namespace kextconf {

// The platform's place for daemon state (kextconf/defaults.hpp, chosen in
// cmake/KextconfDefaults.cmake: /var/db/kextconf on macOS).
inline constexpr const char* kDefaultStateDir = KEXTCONF_DEFAULT_STATE_DIR;

// The copy of the last configuration the kext accepted.
inline constexpr const char* kLastGoodFile = "last-good.json";
// The schema of the kext last connected to (schema.hpp's JSON Schema
// document), for `kextconfd --check` while the kext is not loaded.
inline constexpr const char* kSchemaFile = "schema.json";

} // namespace kextconf
