// Checking a configuration file without applying it: `kextconfd --check` and
// `kextconfctl config check` run this one function, so they report the same
// errors. Reads the file as the daemon would, parses it, and validates it
// against the schema of the running kext (through the query control) when that
// kext is loaded. Safe to call from any thread.
#pragma once

#include "config_loader.hpp"

#include <string>
#include <vector>

namespace kextconf {

struct ConfigCheck {
    std::vector<Diagnostic> errors; // file:line:col: error: ..., in source order
    bool validated = false;         // values were checked against the running kext
    std::string note;               // why they were not (the kext is not loaded, ...)
    std::string kext;               // the bundle id the file names ("" if unreadable)

    bool ok() const { return errors.empty(); }
};

ConfigCheck check_config_file(const std::string& path);

} // namespace kextconf
