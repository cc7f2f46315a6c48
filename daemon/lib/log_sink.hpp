// The log sink seam, internal to logging.cpp: one file per platform makes
// the sink (log_sink_darwin.cpp: os_log; log_sink_stderr.cpp: stderr).
#pragma once

#include <spdlog/sinks/sink.h>

#include <memory>
#include <string>

namespace kextconf {

// The platform's sink for `subsystem`; the logger's name is the category.
std::shared_ptr<spdlog::sinks::sink> make_platform_sink(const std::string& subsystem);
// True where the platform sink already writes to stderr.
extern const bool kPlatformSinkIsStderr;
// Timestamped lines on stderr with private markers removed (logging.cpp).
std::shared_ptr<spdlog::sinks::sink> make_stderr_sink();

} // namespace kextconf
