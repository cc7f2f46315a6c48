#include "state_store.hpp"

#include <kextconf/config_loader.hpp>
#include <kextconf/file.hpp>

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
    const ReplaceResult r = replace_file_atomically(path, text, 0600);
    if (r) {
        logcat::config().error("cannot save {}: {}: {}", path, r.failed_step, r.ec.message());
        return Saved::Failed;
    }
    if (!r.directory_synced)
        logcat::config().warn("saved {} but could not sync {}; the save may not survive a crash", path, dir_);
    saved_hash = hash;
    return Saved::Written;
}

} // namespace kextconf
