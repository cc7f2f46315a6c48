#include <kextconf/file.hpp>

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kextconf {

namespace {

std::error_code last_error()
{
    return {errno, std::generic_category()};
}

bool write_all(int fd, std::string_view text)
{
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string directory_of(const std::string& path)
{
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// Writes the temporary file's content, mode and owner and makes it durable;
// the failed step's name on error.
const char* fill(int fd, std::string_view text, mode_t mode, const struct stat* old)
{
    if (!write_all(fd, text))
        return "write";
    if (::fchmod(fd, mode) != 0)
        return "set the mode of";
    if (old && (old->st_uid != ::geteuid() || old->st_gid != ::getegid()) &&
        ::fchown(fd, old->st_uid, old->st_gid) != 0)
        return "give the old file's owner to";
    if (!sync_durably(fd))
        return "sync";
    return nullptr;
}

} // namespace

void UniqueFd::reset(int fd)
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = fd;
}

std::error_code UniqueFd::close()
{
    const int fd = release();
    return fd >= 0 && ::close(fd) != 0 ? last_error() : std::error_code();
}

std::error_code read_bounded(int fd, std::size_t limit, std::string& out)
{
    out.clear(); // keeps the capacity a caller reserved
    char buf[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return last_error();
        if (n == 0)
            return {};
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > limit)
            return std::make_error_code(std::errc::file_too_large);
    }
}

std::string read_file_bounded(int fd, const struct stat& st, std::size_t limit, std::string& out)
{
    const std::string limit_text = std::to_string(limit) + " bytes";
    if (static_cast<std::uint64_t>(st.st_size) > limit)
        return "is " + std::to_string(st.st_size) + " bytes, over the limit of " + limit_text;
    out.reserve(static_cast<std::size_t>(st.st_size));
    if (const auto ec = read_bounded(fd, limit, out))
        return ec == std::errc::file_too_large ? "grew over the limit of " + limit_text + " while being read"
                                               : "cannot read: " + ec.message();
    return "";
}

ReplaceResult replace_file_atomically(const std::string& path, std::string_view text, mode_t mode,
                                      bool keep_old_mode_and_owner)
{
    ReplaceResult r;
    struct stat old {};
    const bool had_old = keep_old_mode_and_owner && ::stat(path.c_str(), &old) == 0;
    if (had_old)
        mode = old.st_mode & 07777;
    const std::string dir = directory_of(path);
    std::string tmp = path + ".XXXXXX";
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd)
        return {last_error(), "create a temporary file in " + dir};
    const char* failed = fill(fd.get(), text, mode, had_old ? &old : nullptr);
    r.ec = failed ? last_error() : fd.close();
    if (r.ec)
        r.failed_step = std::string(failed ? failed : "close") + " " + tmp;
    else if (::rename(tmp.c_str(), path.c_str()) != 0)
        r = {last_error(), "rename " + tmp + " to " + path};
    if (r.ec) {
        ::unlink(tmp.c_str());
        return r;
    }
    // The rename is durable only once the directory is.
    const UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    r.directory_synced = dfd && sync_durably(dfd.get());
    return r;
}

} // namespace kextconf
