// Files in user space: a descriptor that closes itself, a bounded read, and
// an atomic, durable replace. Shared by the config loader, the schema file
// reader, kextconfd's state store and `kextconfctl set --persist`. How a
// file is made durable is the platform's (file_sync.hpp: F_FULLFSYNC on
// macOS, fsync elsewhere).
//
// Threading: the functions are safe from any thread; a UniqueFd belongs to
// one owner.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <system_error>
#include <utility>

namespace kextconf {

// Owns a file descriptor; closes it when done. Move-only.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept
    {
        if (this != &o)
            reset(std::exchange(o.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);
    // close(2) now, with its result: a write error can surface only here.
    std::error_code close();

private:
    int fd_ = -1;
};

// Reads what is left of `fd` into `out`, at most `limit` bytes: a file that
// is (or grows) larger gives errc::file_too_large. EINTR is retried.
std::error_code read_bounded(int fd, std::size_t limit, std::string& out);

// Reads the regular file open as `fd` (`st` is its fstat) into `out`, at
// most `limit` bytes. "" on success, else why not, for a person: "is N
// bytes, over the limit of L bytes", "grew over the limit ... while being
// read", "cannot read: ...".
std::string read_file_bounded(int fd, const struct stat& st, std::size_t limit, std::string& out);

// What an atomic replace did.
struct ReplaceResult {
    std::error_code ec;           // set: nothing changed, the old file is intact
    std::string failed_step;      // with ec: "create a temporary file in DIR", "write TMP", ...
    bool directory_synced = true; // false: replaced, but the rename may not survive a crash
    explicit operator bool() const { return static_cast<bool>(ec); }
};

// Replaces `path` with `text`: a temporary file beside it, written, made
// durable, renamed over `path`, then the directory made durable too. The new
// file has `mode`, or with `keep_old_mode_and_owner` the old file's mode and
// owner when there was one. On failure the temporary file is removed and the
// old file is intact.
ReplaceResult replace_file_atomically(const std::string& path, std::string_view text, mode_t mode,
                                      bool keep_old_mode_and_owner = false);

// Makes the file's data durable: the platform seam (file_sync_*.cpp).
bool sync_durably(int fd);

} // namespace kextconf
