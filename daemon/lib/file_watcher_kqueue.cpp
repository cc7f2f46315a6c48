// File watcher on macOS: a kqueue with two EVFILT_VNODE watches, one on the
// file's directory (NOTE_WRITE: an entry was added, removed or renamed) and
// one on the file itself (written, extended, attributes, deleted, renamed,
// revoked). kqueue names no entry, so a directory change is reported as a
// possible change of the file; the caller's content hash discards the rest.
// After a change the file watch is re-armed on whatever vnode the path names
// now (an editor's rename-over replaces it).
#include "file_watcher.hpp"

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <sys/event.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kextconf {

namespace {
constexpr unsigned kFileFflags = NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE;
constexpr unsigned kDirFflags = NOTE_WRITE | NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE;

std::error_code last_error()
{
    return {errno, std::generic_category()};
}
} // namespace

struct FileWatcher::Impl {
    int kq = -1;
    int dir_fd = -1;
    int file_fd = -1; // -1 while the file does not exist
    std::string path;

    ~Impl()
    {
        for (int fd : {file_fd, dir_fd, kq})
            if (fd >= 0)
                ::close(fd);
    }

    std::error_code add(int fd, unsigned fflags)
    {
        struct kevent kev;
        EV_SET(&kev, fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, fflags, 0, nullptr);
        if (::kevent(kq, &kev, 1, nullptr, 0, nullptr) < 0)
            return last_error();
        return {};
    }

    // Points the file watch at the vnode the path names now, if that differs
    // from the one watched (closing an fd removes its kevents).
    std::error_code rearm_file()
    {
        struct stat now {};
        const bool exists = ::stat(path.c_str(), &now) == 0;
        if (file_fd >= 0) {
            struct stat watched {};
            if (exists && ::fstat(file_fd, &watched) == 0 && watched.st_dev == now.st_dev &&
                watched.st_ino == now.st_ino)
                return {};
            ::close(file_fd);
            file_fd = -1;
        }
        if (!exists)
            return {}; // the directory watch reports its re-creation
        file_fd = ::open(path.c_str(), O_EVTONLY | O_CLOEXEC);
        if (file_fd < 0)
            return errno == ENOENT ? std::error_code{} : last_error();
        return add(file_fd, kFileFflags);
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
    impl->path = p.string();
    impl->kq = ::kqueue();
    if (impl->kq < 0)
        return ec = last_error(), nullptr;
    ::fcntl(impl->kq, F_SETFD, FD_CLOEXEC);
    impl->dir_fd = ::open(p.parent_path().c_str(), O_EVTONLY | O_DIRECTORY | O_CLOEXEC);
    if (impl->dir_fd < 0)
        return ec = last_error(), nullptr;
    if ((ec = impl->add(impl->dir_fd, kDirFflags)))
        return nullptr;
    if ((ec = impl->rearm_file()))
        return nullptr;
    return std::unique_ptr<FileWatcher>(new FileWatcher(std::move(impl)));
}

int FileWatcher::native_handle() const
{
    return impl_->kq;
}

bool FileWatcher::drain(std::error_code& ec)
{
    bool changed = false;
    bool dir_gone = false;
    const struct timespec no_wait {
    };
    struct kevent evs[16];
    for (;;) {
        const int n = ::kevent(impl_->kq, nullptr, 0, evs, 16, &no_wait);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ec = last_error();
            return changed;
        }
        if (n == 0)
            break;
        for (int i = 0; i < n; ++i) {
            changed = true;
            if (static_cast<int>(evs[i].ident) == impl_->dir_fd &&
                (evs[i].fflags & (NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE)))
                dir_gone = true;
        }
    }
    if (dir_gone) {
        ec = std::make_error_code(std::errc::no_such_file_or_directory);
        return true;
    }
    if (changed)
        ec = impl_->rearm_file();
    return changed;
}

} // namespace kextconf
