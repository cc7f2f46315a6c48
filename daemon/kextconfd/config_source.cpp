// ConfigSource: choosing the configuration at start-up and re-reading the
// file (SIGHUP and settled file changes take the same path).
#include "config_source.hpp"

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

bool missing(const std::string& path)
{
    struct stat st {};
    return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
}
} // namespace

ConfigSource::ConfigSource(std::string path, StateStore& state) : path_(std::move(path)), state_(state)
{
}

void ConfigSource::record_errors(const std::vector<Diagnostic>& errors)
{
    std::vector<std::string> lines;
    for (const auto& d : errors)
        lines.push_back(d.str());
    file_load_ = {FileState::Bad, std::move(lines), std::chrono::system_clock::now()};
}

std::optional<LoadedConfig> ConfigSource::read_at_startup()
{
    std::vector<Diagnostic> errors;
    auto text = read_config_file(path_, errors);
    std::optional<ConfigDocument> doc;
    if (text) {
        read_hash_ = std::hash<std::string>{}(*text);
        doc = parse_config(*text, path_, errors);
    }
    if (!doc || !errors.empty()) {
        log_diagnostics(errors);
        record_errors(errors);
        return std::nullopt;
    }
    file_load_ = {FileState::Good, {}, std::chrono::system_clock::now()};
    return LoadedConfig{std::move(*doc), std::move(*text), ConfigOrigin::File, {}};
}

void ConfigSource::load_at_startup()
{
    candidate_ = read_at_startup();
    if (auto saved = state_.load_last_good()) {
        std::vector<Diagnostic> errors;
        auto doc = parse_config(*saved, state_.last_good_path(), errors);
        if (doc && errors.empty())
            config_ = LoadedConfig{std::move(*doc), std::move(*saved), ConfigOrigin::SavedCopy, {}};
        else {
            log_diagnostics(errors);
            logcat::config().error("{}: saved copy unusable; ignoring it", state_.last_good_path());
        }
    }
    if (candidate_)
        logcat::config().info("using {}{}", path_,
                              config_ ? "; the last good copy " + state_.last_good_path() + " is the fallback" : "");
    else if (config_)
        logcat::config().warn(
            "{} is unusable (errors above); applying the last good configuration saved in {} until the "
            "file is fixed",
            path_, state_.last_good_path());
    else
        logcat::config().error(
            "{}: not applied, and there is no saved last good configuration in {}; the kext was not "
            "touched and keeps its current values until the file is fixed (it is watched; SIGHUP also "
            "reloads)",
            path_, state_.last_good_path());
}

ConfigSource::Change ConfigSource::reread(bool forced, std::vector<Diagnostic>& errors)
{
    if (missing(path_)) {
        if (!file_gone_ || forced)
            logcat::config().warn("{} is gone; keeping the configuration in force until it comes back", path_);
        file_gone_ = true;
        read_hash_.reset(); // a re-created file is always read
        file_load_ = {FileState::Missing, {}, std::chrono::system_clock::now()};
        return Change::Missing;
    }
    file_gone_ = false;
    auto text = read_config_file(path_, errors);
    if (text) {
        const std::size_t hash = std::hash<std::string>{}(*text);
        if (!forced && read_hash_ == hash) {
            logcat::config().debug("{} changed on disk but its content did not; nothing to do", path_);
            return Change::Unchanged;
        }
        read_hash_ = hash;
        if (!forced)
            logcat::config().info("{} changed; reloading", path_);
    }
    std::optional<ConfigDocument> doc;
    if (text)
        doc = parse_config(*text, path_, errors);
    if (!doc || !errors.empty()) {
        log_diagnostics(errors);
        record_errors(errors);
        logcat::config().error("{}: reload refused; keeping the last good configuration", path_);
        return Change::Bad;
    }
    file_load_ = {FileState::Good, {}, std::chrono::system_clock::now()};
    candidate_ = LoadedConfig{std::move(*doc), std::move(*text), ConfigOrigin::File, {}};
    return Change::Candidate;
}

void ConfigSource::accept_candidate()
{
    config_ = std::move(candidate_);
    candidate_.reset();
    save_in_force();
}

void ConfigSource::refuse_candidate(const std::vector<Diagnostic>& errors)
{
    if (candidate_)
        note_refused(*candidate_, errors);
    candidate_.reset();
    if (config_)
        logcat::config().error("{}: edit refused; keeping the last good configuration ({})", path_, config_->doc.file);
    else
        logcat::config().error("{}: refused, and there is no last good configuration; the kext keeps its "
                               "current values until the file is fixed",
                               path_);
}

void ConfigSource::note_refused(const LoadedConfig& config, const std::vector<Diagnostic>& errors)
{
    if (config.doc.file == path_)
        record_errors(errors);
}

void ConfigSource::save_in_force()
{
    if (config_)
        state_.save_last_good(config_->text);
}

std::string ConfigSource::bundle() const
{
    return config_ ? config_->doc.kext : candidate_ ? candidate_->doc.kext : "";
}

} // namespace kextconf
