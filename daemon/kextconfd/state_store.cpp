#include "state_store.hpp"

#include <kextconf/config_loader.hpp>

#include <kextconf/logging.hpp>

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

// Makes the file's data durable. fsync on macOS only reaches the drive's
// cache; F_FULLFSYNC asks the drive to flush it too (fsync(2) on macOS).
// Feature-tested, not platform-tested: where F_FULLFSYNC is missing or the
// file system refuses it, fsync is what there is.
bool sync_file(int fd)
{
#ifdef F_FULLFSYNC
    if (::fcntl(fd, F_FULLFSYNC) == 0)
        return true;
#endif
    return ::fsync(fd) == 0;
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
        logcat::config().error("state directory {}: cannot create: {}; the last good configuration will not be saved",
                               dir_, errno_text(errno));
        return usable_ = false;
    }
    struct stat st {};
    const int rc = ::lstat(dir_.c_str(), &st);
    if (rc != 0 || !S_ISDIR(st.st_mode)) {
        logcat::config().error("state directory {}: {}; the last good configuration will not be saved", dir_,
                               rc != 0 ? errno_text(errno) : "not a directory");
        return usable_ = false;
    }
    if (auto unsafe = unsafe_ownership(dir_, st)) {
        logcat::config().error("state directory {} {}; not using it", dir_, *unsafe);
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
        logcat::config().error("{}", d.str());
    if (text)
        saved_hash_ = std::hash<std::string>{}(*text);
    return text;
}

bool StateStore::save_last_good(std::string_view text)
{
    const Saved r = save(kLastGoodFile, text, saved_hash_);
    if (r == Saved::Written)
        logcat::config().info("saved the configuration in force to {}", last_good_path());
    return r != Saved::Failed;
}

std::string StateStore::schema_path() const
{
    return dir_ + "/" + kSchemaFile;
}

bool StateStore::save_schema(std::string_view text)
{
    return save(kSchemaFile, text, schema_hash_) != Saved::Failed;
}

StateStore::Saved StateStore::save(const char* name, std::string_view text, std::optional<std::size_t>& saved_hash)
{
    if (!usable_)
        return Saved::Failed;
    const std::size_t hash = std::hash<std::string_view>{}(text);
    if (saved_hash == hash)
        return Saved::Unchanged;
    const std::string path = dir_ + "/" + name;
    std::string tmp = path + ".XXXXXX";
    const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) {
        logcat::config().error("cannot save {} in {}: {}", name, dir_, errno_text(errno));
        return Saved::Failed;
    }
    const bool written = ::fchmod(fd, 0600) == 0 && write_all(fd, text) && sync_file(fd);
    const int err = errno;
    if (::close(fd) != 0 || !written || ::rename(tmp.c_str(), path.c_str()) != 0) {
        logcat::config().error("cannot save {}: {}", path, errno_text(written ? errno : err));
        ::unlink(tmp.c_str());
        return Saved::Failed;
    }
    // The rename is durable only once the directory is.
    const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || !sync_file(dfd))
        logcat::config().warn("saved {} but could not sync {}: {}", path, dir_, errno_text(errno));
    if (dfd >= 0)
        ::close(dfd);
    saved_hash = hash;
    return Saved::Written;
}

} // namespace kextconf
