// Log sink for hosts without os_log: timestamped lines on stderr, which
// launchd-like supervisors and journald capture.
#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace kextconf {

void init_logging(const std::string& subsystem, spdlog::level::level_enum level)
{
    auto logger = spdlog::stderr_color_mt(subsystem);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %n: %v");
    logger->set_level(level);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

} // namespace kextconf
