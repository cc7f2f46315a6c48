// Log sink for macOS: the unified log (os_log), subsystem = the daemon's
// reverse-DNS name. The unified log adds time, pid and level itself.
#include "logging.hpp"

#include <os/log.h>
#include <spdlog/sinks/base_sink.h>

#include <mutex>

namespace kextconf {

namespace {
class OsLogSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit OsLogSink(const std::string& subsystem) : log_(os_log_create(subsystem.c_str(), "daemon")) {}

protected:
    void sink_it_(const spdlog::details::log_msg& m) override
    {
        spdlog::memory_buf_t buf;
        formatter_->format(m, buf);
        buf.push_back('\0');
        os_log_type_t type = OS_LOG_TYPE_DEBUG;
        switch (m.level) {
        case spdlog::level::critical: type = OS_LOG_TYPE_FAULT; break;
        case spdlog::level::err: type = OS_LOG_TYPE_ERROR; break;
        case spdlog::level::warn: type = OS_LOG_TYPE_DEFAULT; break;
        case spdlog::level::info: type = OS_LOG_TYPE_INFO; break;
        default: break;
        }
        os_log_with_type(log_, type, "%{public}s", buf.data());
    }
    void flush_() override {}

private:
    os_log_t log_;
};
} // namespace

void init_logging(const std::string& subsystem, spdlog::level::level_enum level)
{
    auto sink = std::make_shared<OsLogSink>(subsystem);
    sink->set_pattern("%v");
    auto logger = std::make_shared<spdlog::logger>(subsystem, sink);
    logger->set_level(level);
    spdlog::set_default_logger(logger);
}

} // namespace kextconf
