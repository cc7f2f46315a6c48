// The category loggers over the platform sink (logging.hpp).
#include <kextconf/logging.hpp>

#include "log_sink.hpp"

#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <memory>
#include <mutex>

namespace kextconf {

namespace {

constexpr const char* kCategories[] = {"config", "kext", "events", "daemon"};

// Timestamped lines on stderr, private markers removed.
class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& m) override
    {
        spdlog::memory_buf_t buf;
        formatter_->format(m, buf);
        const std::string line = detail::strip_private_markers(std::string_view(buf.data(), buf.size()));
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    }
    void flush_() override { std::fflush(stderr); }
};

spdlog::logger& category(const char* name)
{
    if (auto l = spdlog::get(name))
        return *l;
    // Before init_logging (tools and tests that never call it): the default logger.
    return *spdlog::default_logger_raw();
}

} // namespace

std::shared_ptr<spdlog::sinks::sink> make_stderr_sink()
{
    auto sink = std::make_shared<StderrSink>();
    sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %n: %v");
    return sink;
}

void init_logging(const std::string& subsystem, spdlog::level::level_enum level, bool also_stderr)
{
    std::vector<spdlog::sink_ptr> sinks{make_platform_sink(subsystem)};
    if (also_stderr && !kPlatformSinkIsStderr)
        sinks.push_back(make_stderr_sink());
    spdlog::drop_all();
    for (const char* name : kCategories) {
        auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
        logger->set_level(level);
        logger->flush_on(spdlog::level::trace);
        spdlog::register_logger(logger);
        if (std::string_view(name) == "daemon")
            spdlog::set_default_logger(logger);
    }
}

namespace logcat {
spdlog::logger& config()
{
    return category("config");
}
spdlog::logger& kext()
{
    return category("kext");
}
spdlog::logger& events()
{
    return category("events");
}
spdlog::logger& daemon()
{
    return category("daemon");
}
} // namespace logcat

std::string private_value(std::string_view v)
{
    std::string out;
    out.reserve(v.size() + 2);
    out += detail::kPrivateBegin;
    for (const char c : v)
        if (c != detail::kPrivateBegin && c != detail::kPrivateEnd)
            out += c;
    out += detail::kPrivateEnd;
    return out;
}

namespace detail {
std::string strip_private_markers(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char c : text)
        if (c != kPrivateBegin && c != kPrivateEnd)
            out += c;
    return out;
}
} // namespace detail

} // namespace kextconf
