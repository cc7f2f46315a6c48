// Log sink for hosts without os_log: timestamped lines on stderr, which
// launchd-like supervisors and journald capture (systemd adds its own
// timestamp; the line keeps one so a plain redirect is readable too).
#include "log_sink.hpp"

namespace kextconf {

const bool kPlatformSinkIsStderr = true;

std::shared_ptr<spdlog::sinks::sink> make_platform_sink(const std::string& /*subsystem*/)
{
    return make_stderr_sink();
}

} // namespace kextconf
