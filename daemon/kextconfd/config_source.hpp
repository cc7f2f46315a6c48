// Where kextconfd's configuration comes from: the config file and the
// managed-preferences profile over it (default < file < managed), the
// candidate read from them that the kext has not accepted yet, and the
// configuration in force (the last one the kext accepted; at start-up, the
// saved last good copy of the file, under the profile). Each change of the
// file or the profile is read and parsed once; fitting the pair to the kext's
// schema is loaded_config.hpp's fit(), once per kext load. A bad edit, a bad
// profile or a deleted file never replaces the configuration in force; a
// removed profile leaves the file's values.
//
// Threading: the io_context thread only.
#pragma once

#include "loaded_config.hpp"
#include "state_store.hpp"

#include <kextconf/admin_protocol.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kextconf {

class ConfigSource {
public:
    // The config file's last load (start-up, edit, SIGHUP, admin reload), as
    // status reports it.
    using FileState = admin::FileState;
    struct FileLoad {
        FileState state = FileState::Missing;
        std::vector<std::string> errors; // file:line:col: error: ...
        std::chrono::system_clock::time_point at{};
    };

    // What a re-read of the file found.
    enum class Change {
        Unchanged, // the same content as last read (and not forced): nothing to do
        Missing,   // the file is gone; the configuration in force stays
        Bad,       // unreadable, unsafe or does not parse: the errors are returned
        Candidate, // a new candidate, to apply
    };

    // The profile's last read, as status reports it.
    struct ProfileLoad {
        FileState state = FileState::Missing;
        std::vector<std::string> errors;                 // domain: error: Key.path: ...
        std::chrono::system_clock::time_point at{};      // read
        std::chrono::system_clock::time_point changed{}; // the file's modification time
    };

    // `managed_dir` "": no managed preferences.
    ConfigSource(std::string path, std::string managed_dir, StateStore& state);

    // The file becomes the candidate if it parses; the saved last good copy
    // (if any) becomes the configuration in force, the fallback should the
    // file be unusable or not fit the kext.
    void load_at_startup();
    // Reads the file after a change (or SIGHUP, forced: even if unchanged).
    Change reread(bool forced, std::vector<Diagnostic>& errors);
    // Reads the profile after a change of its directory (or SIGHUP, forced).
    // Missing: it was removed, and the file's values alone are the candidate.
    Change reread_managed(bool forced, std::vector<Diagnostic>& errors);

    LoadedConfig* candidate() { return candidate_ ? &*candidate_ : nullptr; }
    LoadedConfig* in_force() { return config_ ? &*config_ : nullptr; }
    const LoadedConfig* in_force() const { return config_ ? &*config_ : nullptr; }
    // The kext accepted the candidate: it is in force, and saved.
    void accept_candidate();
    // The candidate does not fit the kext: dropped, the file is Bad; or, when
    // only its profile does not fit, it stays a candidate without that
    // profile (under the one in force, if any).
    void refuse_candidate(const std::vector<Diagnostic>& errors);
    // `config` (the candidate or the one in force) does not fit the kext:
    // the file is Bad if that is where it came from, the profile Bad (and
    // dropped) if it is the profile's values. True when only the profile's are.
    bool note_refused(const LoadedConfig& config, const std::vector<Diagnostic>& errors);
    // The configuration in force was (re)applied: keep its saved copy.
    void save_in_force();

    const std::string& path() const { return path_; }
    const FileLoad& file_load() const { return file_load_; }
    // The profile's file; "" without --managed-prefs-dir.
    const std::string& managed_path() const { return managed_path_; }
    const ProfileLoad& profile_load() const { return profile_load_; }
    // The latest good profile read (null: none): what `set` may not override.
    const ManagedPrefs* managed() const { return managed_.get(); }
    // The bundle id of the configuration in force, else the candidate's; "" if neither.
    std::string bundle() const;

private:
    std::optional<LoadedConfig> read_at_startup();
    void record_errors(const std::vector<Diagnostic>& errors);
    // Reads and parses the profile; nullopt (recorded) if it is missing or bad.
    enum class ProfileRead { Missing, Bad, Unchanged, Good };
    ProfileRead read_profile(bool forced, std::vector<Diagnostic>& errors);
    // The candidate (else the configuration in force) under the current profile.
    bool rebase_on_profile();

    std::string path_;
    StateStore& state_;
    std::optional<LoadedConfig> config_;
    std::optional<LoadedConfig> candidate_;
    // Hash of the file's text at the last read; a settled change with the
    // same content is ignored. Cleared when the file is deleted.
    std::optional<std::size_t> read_hash_;
    bool file_gone_ = false; // logged once per deletion
    FileLoad file_load_;
    std::string managed_path_;
    std::shared_ptr<const ManagedPrefs> managed_; // the latest good profile, or the one in force after a refusal
    std::optional<std::size_t> managed_hash_;     // of the profile's bytes at the last read
    ProfileLoad profile_load_;
};

} // namespace kextconf
