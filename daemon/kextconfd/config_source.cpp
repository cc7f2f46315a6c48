// ConfigSource: choosing the configuration at start-up and re-reading the
// file (SIGHUP and settled file changes take the same path).
#include "config_source.hpp"

#include <kextconf/logging.hpp>
#include <kextconf/managed_prefs.hpp>

#include <cerrno>
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

ConfigSource::ConfigSource(std::string path, std::string managed_dir, StateStore& state)
    : path_(std::move(path)), state_(state), managed_path_(managed_dir.empty() ? "" : managed_prefs_path(managed_dir))
{
}

ConfigSource::ProfileRead ConfigSource::read_profile(bool forced, std::vector<Diagnostic>& errors)
{
    const auto now = std::chrono::system_clock::now();
    if (managed_path_.empty() || missing(managed_path_)) {
        managed_hash_.reset();
        const bool was = profile_load_.state != FileState::Missing || managed_;
        profile_load_ = {FileState::Missing, {}, now, {}};
        return was || forced ? ProfileRead::Missing : ProfileRead::Unchanged;
    }
    // The same checks as the config file: root's, not writable by others, no symlink.
    std::vector<Diagnostic> read_errors;
    auto file = read_and_parse<ManagedPrefs>(
        managed_path_, read_errors, forced ? std::nullopt : managed_hash_,
        [this](std::string_view bytes, auto& errs) { return parse_managed_prefs(bytes, managed_path_, errs); });
    if (file && file->unchanged)
        return ProfileRead::Unchanged;
    std::optional<ManagedPrefs> prefs;
    if (file) {
        managed_hash_ = file->hash;
        prefs = std::move(file->doc);
    }
    struct stat st {};
    const bool dated = ::stat(managed_path_.c_str(), &st) == 0;
    const auto changed = dated ? std::chrono::system_clock::from_time_t(st.st_mtime) : now;
    errors.insert(errors.end(), read_errors.begin(), read_errors.end());
    if (!prefs) {
        log_diagnostics(read_errors);
        std::vector<std::string> lines;
        for (const auto& d : read_errors)
            lines.push_back(d.str());
        profile_load_ = {FileState::Bad, std::move(lines), now, changed};
        logcat::config().error("{}: profile refused; keeping the configuration in force", managed_path_);
        return ProfileRead::Bad;
    }
    profile_load_ = {FileState::Good, {}, now, changed};
    managed_ = std::make_shared<const ManagedPrefs>(std::move(*prefs));
    return ProfileRead::Good;
}

bool ConfigSource::rebase_on_profile()
{
    const LoadedConfig* base = candidate_ ? &*candidate_ : config_ ? &*config_ : nullptr;
    if (!base)
        return false;
    candidate_ = LoadedConfig{base->doc, base->text, base->origin, managed_, {}};
    return true;
}

ConfigSource::Change ConfigSource::reread_managed(bool forced, std::vector<Diagnostic>& errors)
{
    switch (read_profile(forced, errors)) {
    case ProfileRead::Unchanged: return Change::Unchanged;
    case ProfileRead::Bad: return Change::Bad;
    case ProfileRead::Missing:
        if (managed_)
            logcat::config().info("{} was removed; the file's values apply again", managed_path_);
        managed_.reset();
        return rebase_on_profile() ? Change::Missing : Change::Unchanged;
    case ProfileRead::Good:
        logcat::config().info("{}: read the profile ({} tunables managed)", managed_path_, managed_->tunables.size());
        return rebase_on_profile() ? Change::Candidate : Change::Unchanged;
    }
    return Change::Unchanged;
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
    auto file = load_config_file(path_, errors);
    if (file)
        read_hash_ = file->hash;
    if (!file || !file->doc) {
        log_diagnostics(errors);
        record_errors(errors);
        return std::nullopt;
    }
    file_load_ = {FileState::Good, {}, std::chrono::system_clock::now()};
    return LoadedConfig{std::move(*file->doc), std::move(file->text), ConfigOrigin::File, managed_, {}};
}

void ConfigSource::load_at_startup()
{
    std::vector<Diagnostic> profile_errors;
    if (!managed_path_.empty() && read_profile(/*forced=*/true, profile_errors) == ProfileRead::Good)
        logcat::config().info("{}: the profile manages {} tunables", managed_path_, managed_->tunables.size());
    candidate_ = read_at_startup();
    if (auto saved = state_.load_last_good()) {
        std::vector<Diagnostic> errors;
        auto doc = parse_config(*saved, state_.last_good_path(), errors);
        if (doc && errors.empty())
            config_ = LoadedConfig{std::move(*doc), std::move(*saved), ConfigOrigin::SavedCopy, managed_, {}};
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
    auto file = load_config_file(path_, errors, forced ? std::nullopt : read_hash_);
    if (file && file->unchanged) {
        logcat::config().debug("{} changed on disk but its content did not; nothing to do", path_);
        return Change::Unchanged;
    }
    if (file) {
        read_hash_ = file->hash;
        if (!forced)
            logcat::config().info("{} changed; reloading", path_);
    }
    if (!file || !file->doc || !errors.empty()) {
        log_diagnostics(errors);
        record_errors(errors);
        logcat::config().error("{}: reload refused; keeping the last good configuration", path_);
        return Change::Bad;
    }
    file_load_ = {FileState::Good, {}, std::chrono::system_clock::now()};
    candidate_ = LoadedConfig{std::move(*file->doc), std::move(file->text), ConfigOrigin::File, managed_, {}};
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
    if (candidate_ && note_refused(*candidate_, errors)) {
        // Only the profile does not fit: the file's values, under the profile in force (if any), are next.
        candidate_ = LoadedConfig{candidate_->doc, candidate_->text, candidate_->origin, managed_, {}};
        return;
    }
    candidate_.reset();
    if (config_)
        logcat::config().error("{}: edit refused; keeping the last good configuration ({})", path_, config_->label());
    else
        logcat::config().error("{}: refused, and there is no last good configuration; the kext keeps its "
                               "current values until the file is fixed",
                               path_);
}

bool ConfigSource::note_refused(const LoadedConfig& config, const std::vector<Diagnostic>& errors)
{
    std::vector<Diagnostic> file_errors;
    std::vector<std::string> profile_errors;
    for (const auto& d : errors)
        if (config.managed && d.file == config.managed->domain)
            profile_errors.push_back(d.str());
        else
            file_errors.push_back(d);
    if (config.doc.file == path_ && !file_errors.empty())
        record_errors(file_errors);
    if (profile_errors.empty())
        return false;
    const bool file_fits = file_errors.empty();
    profile_load_.state = FileState::Bad;
    profile_load_.errors = std::move(profile_errors);
    logcat::config().error("{}: the profile does not fit the kext; keeping the configuration in force", managed_path_);
    // The profile that does not fit is dropped: a file edit is laid under the
    // profile in force; and when that is this one (it came with the saved
    // copy at start-up), the file's values alone are what is known to be good.
    const auto refused = config.managed; // `config` may be *config_
    if (config_ && config_->managed == refused) {
        config_->managed.reset();
        config_->fitted.reset();
    }
    if (managed_ == refused)
        managed_ = config_ ? config_->managed : nullptr;
    return file_fits;
}

void ConfigSource::save_in_force()
{
    if (config_)
        state_.save_last_good(config_->text);
}

std::string ConfigSource::bundle() const
{
    return config_ ? config_->kext() : candidate_ ? candidate_->kext() : "";
}

} // namespace kextconf
