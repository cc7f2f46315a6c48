// Logging: spdlog loggers, one per category, over the platform's log sink
// (the seam: os_log on macOS in log_sink_darwin.cpp, stderr elsewhere in
// log_sink_stderr.cpp). On macOS each category is an os_log category of one
// subsystem, so `log stream --predicate 'subsystem == "org.kextconf"'` shows
// them all and `... && category == "kext"` one of them.
//
// Levels: info for one line per apply and for state changes, warn for
// problems the daemon recovers from, error for refused configurations and
// failures. Values that come from a configuration (tunable values) are
// wrapped in private_value(): the unified log shows them as <private> unless
// private data is enabled; stderr shows them as they are.
//
// Threading: the loggers are safe to use from any thread once
// init_logging has returned; call init_logging once, before any thread starts.
#pragma once

#include <kextconf/defaults.hpp>

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace kextconf {

// The unified log subsystem: the bundle id prefix shared by the kexts and
// tools of this suite (KEXTCONF_BUNDLE_PREFIX).
inline constexpr const char* kLogSubsystem = KEXTCONF_BUNDLE_PREFIX;

// Installs the loggers. `also_stderr`: copy every line to stderr as well when
// the platform sink is not stderr already (kextconfd --foreground-log).
void init_logging(const std::string& subsystem, spdlog::level::level_enum level, bool also_stderr = false);

namespace logcat {
spdlog::logger& config(); // reading, checking and saving configurations
spdlog::logger& kext();   // talking to the kext: applies, verification, drift
spdlog::logger& events(); // kern_events: kext start/stop, sequence gaps
spdlog::logger& daemon(); // the process itself: start, signals, admin socket (the default logger)
} // namespace logcat

// `v` marked private for the unified log.
std::string private_value(std::string_view v);

namespace detail {
// The markers private_value() puts around a value (ASCII STX/ETX, which
// never appear in log text otherwise).
inline constexpr char kPrivateBegin = '\x02';
inline constexpr char kPrivateEnd = '\x03';
// The text with the markers removed.
std::string strip_private_markers(std::string_view text);
} // namespace detail

} // namespace kextconf
