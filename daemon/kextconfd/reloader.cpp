// Daemon: choosing the configuration at start-up and reloading the file
// (SIGHUP and settled file changes take the same path). See daemon.hpp.
#include "daemon.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <functional>
#include <sys/stat.h>

namespace kextconf {

namespace {
void log_diagnostics(const std::vector<Diagnostic>& errors)
{
    for (const auto& d : errors)
        spdlog::error("{}", d.str());
}

bool missing(const std::string& path)
{
    struct stat st {};
    return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
}
} // namespace

std::optional<Daemon::LoadedConfig> Daemon::read_config(const std::string& path)
{
    std::vector<Diagnostic> errors;
    auto text = read_config_file(path, errors);
    std::optional<ConfigDocument> doc;
    if (text) {
        read_hash_ = std::hash<std::string>{}(*text);
        doc = parse_config(*text, path, errors);
    }
    if (!doc || !errors.empty()) {
        log_diagnostics(errors);
        return std::nullopt;
    }
    return LoadedConfig{std::move(*doc), std::move(*text)};
}

void Daemon::load_at_startup()
{
    candidate_ = read_config(opts_.config_path);
    if (auto saved = state_.load_last_good()) {
        std::vector<Diagnostic> errors;
        auto doc = parse_config(*saved, state_.last_good_path(), errors);
        if (doc && errors.empty())
            config_ = LoadedConfig{std::move(*doc), std::move(*saved)};
        else {
            log_diagnostics(errors);
            spdlog::error("{}: saved copy unusable; ignoring it", state_.last_good_path());
        }
    }
    if (candidate_)
        spdlog::info("using {}{}", opts_.config_path,
                     config_ ? "; the last good copy " + state_.last_good_path() + " is the fallback" : "");
    else if (config_)
        spdlog::warn("{} is unusable (errors above); applying the last good configuration saved in {} until the "
                     "file is fixed",
                     opts_.config_path, state_.last_good_path());
    else
        spdlog::error("{}: not applied, and there is no saved last good configuration in {}; the kext was not "
                      "touched and keeps its current values until the file is fixed (it is watched; SIGHUP also "
                      "reloads)",
                      opts_.config_path, opts_.state_dir);
}

void Daemon::reload(bool forced)
{
    if (missing(opts_.config_path)) {
        if (!file_gone_ || forced)
            spdlog::warn("{} is gone; keeping the configuration in force until it comes back", opts_.config_path);
        file_gone_ = true;
        read_hash_.reset(); // a re-created file is always read
        return;
    }
    file_gone_ = false;
    std::vector<Diagnostic> errors;
    auto text = read_config_file(opts_.config_path, errors);
    if (text) {
        const std::size_t hash = std::hash<std::string>{}(*text);
        if (!forced && read_hash_ == hash) {
            spdlog::debug("{} changed on disk but its content did not; nothing to do", opts_.config_path);
            return;
        }
        read_hash_ = hash;
        if (!forced)
            spdlog::info("{} changed; reloading", opts_.config_path);
    }
    std::optional<ConfigDocument> doc;
    if (text)
        doc = parse_config(*text, opts_.config_path, errors);
    if (!doc || !errors.empty()) {
        log_diagnostics(errors);
        spdlog::error("{}: reload refused; keeping the last good configuration", opts_.config_path);
        return;
    }
    candidate_ = LoadedConfig{std::move(*doc), std::move(*text)};
    apply_current("reload");
}

} // namespace kextconf
