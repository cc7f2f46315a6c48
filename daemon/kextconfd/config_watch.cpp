#include "config_watch.hpp"

#include "file_watcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <kextconf/logging.hpp>

#include <unistd.h>

namespace asio = boost::asio;

namespace kextconf {

ConfigWatch::ConfigWatch(asio::io_context& io, std::chrono::milliseconds debounce)
    : io_(io), debounce_(debounce), timer_(io)
{
}

ConfigWatch::~ConfigWatch() = default;

bool ConfigWatch::start(const std::string& path, std::function<void()> on_settled)
{
    path_ = path;
    on_settled_ = std::move(on_settled);
    std::error_code ec;
    watcher_ = FileWatcher::open(path, ec);
    if (!watcher_) {
        logcat::config().error("cannot watch {} for changes: {}; edits take effect on SIGHUP only", path, ec.message());
        return false;
    }
    fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(watcher_->native_handle()));
    asio::co_spawn(io_, watch(), asio::detached);
    return true;
}

asio::awaitable<void> ConfigWatch::watch()
{
    for (;;) {
        boost::system::error_code ec;
        co_await fd_->async_wait(asio::posix::stream_descriptor::wait_read,
                                 asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return;
        std::error_code wec;
        if (watcher_->drain(wec)) {
            // Each change restarts the quiet period (cancelling the pending wait).
            timer_.expires_after(debounce_);
            timer_.async_wait([this](const boost::system::error_code& tec) {
                if (!tec)
                    on_settled_();
            });
        }
        if (wec) {
            logcat::config().error("stopped watching {}: {}; edits take effect on SIGHUP only", path_, wec.message());
            co_return;
        }
    }
}

} // namespace kextconf
