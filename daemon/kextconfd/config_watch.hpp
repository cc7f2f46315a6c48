// Debounced notice that the configuration file may have changed: the file
// watcher seam (file_watcher.hpp) awaited on the io_context, plus a timer so
// that an editor's multi-step save (temp file, rename; or truncate, write,
// close; or delete, create, write) produces one notice once it settles.
//
// Threading: runs on the io_context's one thread only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace kextconf {

// How long the file must stay quiet before it is read: long enough to cover
// an editor's save sequence, short enough to feel immediate to an admin.
inline constexpr std::chrono::milliseconds kReloadDebounce{200};

class FileWatcher; // the platform seam, private to the daemon (daemon/lib/file_watcher.hpp)

class ConfigWatch {
public:
    ConfigWatch(boost::asio::io_context& io, std::chrono::milliseconds debounce);
    ~ConfigWatch();

    // Watches `path`; `on_settled` runs once changes have stopped for the
    // debounce interval. False (logged) if the file cannot be watched; edits
    // then take effect on SIGHUP only.
    bool start(const std::string& path, std::function<void()> on_settled);

private:
    boost::asio::awaitable<void> watch();

    boost::asio::io_context& io_;
    std::chrono::milliseconds debounce_;
    std::string path_;
    std::function<void()> on_settled_;
    std::unique_ptr<FileWatcher> watcher_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> fd_;
    boost::asio::steady_timer timer_;
};

} // namespace kextconf
