// Daemon: choosing the configuration at start-up and reloading the file
// (SIGHUP and settled file changes take the same path). See daemon.hpp.
#include "daemon.hpp"

#include <kextconf/logging.hpp>

#include <cerrno>
#include <functional>
#include <sys/stat.h>

namespace kextconf {

namespace {
void log_diagnostics(const std::vector<Diagnostic>& errors)
{
    for (const auto& d : errors)
        logcat::config().error("{}", d.str());
}

std::vector<std::string> strings(const std::vector<Diagnostic>& errors)
{
    std::vector<std::string> out;
    for (const auto& d : errors)
        out.push_back(d.str());
    return out;
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
        record_file_errors(errors);
        return std::nullopt;
    }
    file_load_ = {FileState::Good, {}, std::chrono::system_clock::now()};
    return LoadedConfig{std::move(*doc), std::move(*text), Source::File};
}

void Daemon::record_file_errors(const std::vector<Diagnostic>& errors)
{
    file_load_ = {FileState::Bad, strings(errors), std::chrono::system_clock::now()};
}

void Daemon::load_at_startup()
{
    candidate_ = read_config(opts_.config_path);
    if (auto saved = state_.load_last_good()) {
        std::vector<Diagnostic> errors;
        auto doc = parse_config(*saved, state_.last_good_path(), errors);
        if (doc && errors.empty())
            config_ = LoadedConfig{std::move(*doc), std::move(*saved), Source::SavedCopy};
        else {
            log_diagnostics(errors);
            logcat::config().error("{}: saved copy unusable; ignoring it", state_.last_good_path());
        }
    }
    if (candidate_)
        logcat::config().info("using {}{}", opts_.config_path,
                              config_ ? "; the last good copy " + state_.last_good_path() + " is the fallback" : "");
    else if (config_)
        logcat::config().warn(
            "{} is unusable (errors above); applying the last good configuration saved in {} until the "
            "file is fixed",
            opts_.config_path, state_.last_good_path());
    else
        logcat::config().error(
            "{}: not applied, and there is no saved last good configuration in {}; the kext was not "
            "touched and keeps its current values until the file is fixed (it is watched; SIGHUP also "
            "reloads)",
            opts_.config_path, opts_.state_dir);
}

Daemon::ReloadResult Daemon::reload(bool forced)
{
    ReloadResult r;
    if (missing(opts_.config_path)) {
        if (!file_gone_ || forced)
            logcat::config().warn("{} is gone; keeping the configuration in force until it comes back",
                                  opts_.config_path);
        file_gone_ = true;
        read_hash_.reset(); // a re-created file is always read
        file_load_ = {FileState::Missing, {}, std::chrono::system_clock::now()};
        r.error = opts_.config_path + " does not exist; the configuration in force stays applied";
        return r;
    }
    file_gone_ = false;
    std::vector<Diagnostic> errors;
    auto text = read_config_file(opts_.config_path, errors);
    if (text) {
        const std::size_t hash = std::hash<std::string>{}(*text);
        if (!forced && read_hash_ == hash) {
            logcat::config().debug("{} changed on disk but its content did not; nothing to do", opts_.config_path);
            r.ok = true;
            return r;
        }
        read_hash_ = hash;
        if (!forced)
            logcat::config().info("{} changed; reloading", opts_.config_path);
    }
    ++counters_.reloads;
    std::optional<ConfigDocument> doc;
    if (text)
        doc = parse_config(*text, opts_.config_path, errors);
    if (!doc || !errors.empty()) {
        log_diagnostics(errors);
        record_file_errors(errors);
        logcat::config().error("{}: reload refused; keeping the last good configuration", opts_.config_path);
        r.errors = strings(errors);
        r.error = opts_.config_path + ": reload refused; the last good configuration stays applied";
        return r;
    }
    file_load_ = {FileState::Good, {}, std::chrono::system_clock::now()};
    candidate_ = LoadedConfig{std::move(*doc), std::move(*text), Source::File};
    const auto applies_before = counters_.applies;
    switch (apply_current("reload")) {
    case ApplyOutcome::Applied:
        r.ok = true;
        r.applied = true;
        if (counters_.applies != applies_before && last_apply_)
            r.changed = last_apply_->changed_names;
        break;
    case ApplyOutcome::Absent: r.ok = true; break; // applied when the kext loads
    case ApplyOutcome::Rejected:
        r.errors = apply_errors_;
        r.error = opts_.config_path + " does not fit the kext's schema; the last good configuration stays applied";
        break;
    case ApplyOutcome::Failed: r.error = apply_failure_; break;
    }
    return r;
}

} // namespace kextconf
