// The log sink seam: os_log on macOS (log_sink_darwin.cpp), stderr elsewhere
// (log_sink_stderr.cpp). Everything logs through spdlog's default logger.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace kextconf {

// Installs the platform sink as spdlog's default logger for `subsystem`
// (reverse-DNS, e.g. "org.kextconf.kextconfd").
void init_logging(const std::string& subsystem, spdlog::level::level_enum level);

} // namespace kextconf
