// Log sink for macOS: the unified log (os_log). Subsystem = kLogSubsystem,
// category = the spdlog logger's name (config, kext, events, daemon); the
// unified log adds time, pid and level itself, so the pattern is the bare
// message. Text marked with private_value() goes out as %{private}s, the
// rest as %{public}s.
#include "log_sink.hpp"
#include <kextconf/logging.hpp>

#include <os/log.h>
#include <spdlog/sinks/base_sink.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace kextconf {

namespace {

// Private spans one line can carry separately; later ones are folded into
// the last (everything from there on is private: never less private).
constexpr std::size_t kMaxPrivateSpans = 3;

class OsLogSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit OsLogSink(std::string subsystem) : subsystem_(std::move(subsystem)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& m) override
    {
        spdlog::memory_buf_t buf;
        formatter_->format(m, buf);
        const std::string text(buf.data(), buf.size());
        // Alternating public / private segments: pub[0] priv[0] pub[1] ...
        std::vector<std::string> pub(kMaxPrivateSpans + 1), priv(kMaxPrivateSpans);
        std::size_t span = 0;
        bool in_private = false;
        for (const char c : text) {
            if (c == detail::kPrivateBegin && !in_private) {
                in_private = true;
                continue;
            }
            if (c == detail::kPrivateEnd && in_private) {
                in_private = false;
                if (span + 1 < kMaxPrivateSpans)
                    ++span;
                else
                    in_private = true; // fold the rest into the last private span
                continue;
            }
            if (c == detail::kPrivateBegin || c == detail::kPrivateEnd)
                continue;
            (in_private ? priv[span] : pub[span]) += c;
        }
        os_log_with_type(log_for(m.logger_name), type_of(m.level),
                         "%{public}s%{private}s%{public}s%{private}s"
                         "%{public}s%{private}s%{public}s",
                         pub[0].c_str(), priv[0].c_str(), pub[1].c_str(), priv[1].c_str(), pub[2].c_str(),
                         priv[2].c_str(), pub[3].c_str());
    }
    void flush_() override {}

private:
    static os_log_type_t type_of(spdlog::level::level_enum level)
    {
        switch (level) {
        case spdlog::level::critical: return OS_LOG_TYPE_FAULT;
        case spdlog::level::err: return OS_LOG_TYPE_ERROR;
        case spdlog::level::warn: return OS_LOG_TYPE_DEFAULT;
        case spdlog::level::info: return OS_LOG_TYPE_INFO;
        default: return OS_LOG_TYPE_DEBUG;
        }
    }

    // One os_log_t per category, created once (the runtime never frees them).
    os_log_t log_for(spdlog::string_view_t category)
    {
        const std::string name(category.data(), category.size());
        auto it = logs_.find(name);
        if (it == logs_.end())
            it = logs_.emplace(name, os_log_create(subsystem_.c_str(), name.c_str())).first;
        return it->second;
    }

    std::string subsystem_;
    std::map<std::string, os_log_t> logs_; // guarded by base_sink's mutex
};

} // namespace

const bool kPlatformSinkIsStderr = false;

std::shared_ptr<spdlog::sinks::sink> make_platform_sink(const std::string& subsystem)
{
    auto sink = std::make_shared<OsLogSink>(subsystem);
    sink->set_pattern("%v");
    return sink;
}

} // namespace kextconf
