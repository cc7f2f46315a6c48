// File watcher on Linux: one inotify watch on the file's directory, filtered
// on the file's name.
#include "file_watcher.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sys/inotify.h>
#include <unistd.h>

namespace kextconf {

namespace {
// What makes the file (possibly) different: a writer closed it, a file was
// renamed over it or away, it was created or deleted. IN_MODIFY alone is not
// here: the content may still be partial. The directory's own deletion or
// move means the file is gone too.
constexpr std::uint32_t kWatchMask =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// Events that concern the directory itself (no name) or lost events.
constexpr std::uint32_t kWholeDirMask = IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW | IN_IGNORED;

std::error_code last_error()
{
    return {errno, std::generic_category()};
}
} // namespace

struct FileWatcher::Impl {
    int fd = -1;
    std::string name; // the file's name within its directory
    ~Impl()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

FileWatcher::FileWatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl))
{
}
FileWatcher::~FileWatcher() = default;

std::unique_ptr<FileWatcher> FileWatcher::open(const std::string& path, std::error_code& ec)
{
    const std::filesystem::path p = std::filesystem::absolute(path, ec);
    if (ec)
        return nullptr;
    auto impl = std::make_unique<Impl>();
    impl->name = p.filename().string();
    impl->fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (impl->fd < 0)
        return ec = last_error(), nullptr;
    if (::inotify_add_watch(impl->fd, p.parent_path().c_str(), kWatchMask) < 0)
        return ec = last_error(), nullptr;
    return std::unique_ptr<FileWatcher>(new FileWatcher(std::move(impl)));
}

int FileWatcher::native_handle() const
{
    return impl_->fd;
}

bool FileWatcher::drain(std::error_code& ec)
{
    bool changed = false;
    alignas(inotify_event) char buf[16 * 1024];
    for (;;) {
        const ssize_t n = ::read(impl_->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return changed;
        if (n <= 0) {
            ec = n < 0 ? last_error() : std::make_error_code(std::errc::io_error);
            return changed;
        }
        for (std::size_t off = 0; off + sizeof(inotify_event) <= static_cast<std::size_t>(n);) {
            inotify_event ev;
            std::memcpy(&ev, buf + off, sizeof ev);
            const char* name = buf + off + sizeof ev;
            off += sizeof ev + ev.len;
            if (ev.mask & kWholeDirMask)
                changed = true;
            else if (ev.len > 0 && impl_->name == name)
                changed = true;
            // IN_IGNORED: the directory is gone and the watch with it.
            if (ev.mask & IN_IGNORED)
                ec = std::make_error_code(std::errc::no_such_file_or_directory);
        }
        if (ec)
            return changed;
    }
}

} // namespace kextconf
