#include "state_store.hpp"

#include "config_loader.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <fcntl.h>
#include <functional>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace kextconf {

namespace {
std::string errno_text(int err)
{
    return std::generic_category().message(err);
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
} // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir))
{
}

std::string StateStore::last_good_path() const
{
    return dir_ + "/" + kLastGoodFile;
}

bool StateStore::open()
{
    if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
        spdlog::error("state directory {}: cannot create: {}; the last good configuration will not be saved", dir_,
                      errno_text(errno));
        return usable_ = false;
    }
    struct stat st {};
    const int rc = ::lstat(dir_.c_str(), &st);
    if (rc != 0 || !S_ISDIR(st.st_mode)) {
        spdlog::error("state directory {}: {}; the last good configuration will not be saved", dir_,
                      rc != 0 ? errno_text(errno) : "not a directory");
        return usable_ = false;
    }
    if (auto unsafe = unsafe_ownership(dir_, st)) {
        spdlog::error("state directory {} {}; not using it", dir_, *unsafe);
        return usable_ = false;
    }
    return usable_ = true;
}

std::optional<std::string> StateStore::load_last_good()
{
    if (!usable_)
        return std::nullopt;
    const std::string path = last_good_path();
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT)
        return std::nullopt;
    std::vector<Diagnostic> errors;
    auto text = read_config_file(path, errors);
    for (const auto& d : errors)
        spdlog::error("{}", d.str());
    if (text)
        saved_hash_ = std::hash<std::string>{}(*text);
    return text;
}

bool StateStore::save_last_good(std::string_view text)
{
    if (!usable_)
        return false;
    const std::size_t hash = std::hash<std::string_view>{}(text);
    if (saved_hash_ == hash)
        return true;
    const std::string path = last_good_path();
    std::string tmp = path + ".XXXXXX";
    const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) {
        spdlog::error("cannot save the last good configuration in {}: {}", dir_, errno_text(errno));
        return false;
    }
    const bool written = ::fchmod(fd, 0600) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
    const int err = errno;
    if (::close(fd) != 0 || !written || ::rename(tmp.c_str(), path.c_str()) != 0) {
        spdlog::error("cannot save the last good configuration to {}: {}", path, errno_text(written ? errno : err));
        ::unlink(tmp.c_str());
        return false;
    }
    // The rename is durable only once the directory is.
    const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0)
        spdlog::warn("saved {} but could not sync {}: {}", path, dir_, errno_text(errno));
    if (dfd >= 0)
        ::close(dfd);
    saved_hash_ = hash;
    spdlog::info("saved the configuration in force to {}", path);
    return true;
}

} // namespace kextconf
