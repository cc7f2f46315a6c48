// Where kextconfd's configuration comes from: the config file, the candidate
// read from it that the kext has not accepted yet, and the configuration in
// force (the last one the kext accepted; at start-up, the saved last good
// copy). Each change of the file is read and parsed once; fitting it to the
// kext's schema is loaded_config.hpp's fit(), once per kext load. A bad edit
// or a deleted file never replaces the configuration in force.
//
// Threading: the io_context thread only.
#pragma once

#include "loaded_config.hpp"
#include "state_store.hpp"

#include <kextconf/admin_protocol.hpp>

#include <chrono>
#include <cstddef>
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

    ConfigSource(std::string path, StateStore& state);

    // The file becomes the candidate if it parses; the saved last good copy
    // (if any) becomes the configuration in force, the fallback should the
    // file be unusable or not fit the kext.
    void load_at_startup();
    // Reads the file after a change (or SIGHUP, forced: even if unchanged).
    Change reread(bool forced, std::vector<Diagnostic>& errors);

    LoadedConfig* candidate() { return candidate_ ? &*candidate_ : nullptr; }
    LoadedConfig* in_force() { return config_ ? &*config_ : nullptr; }
    const LoadedConfig* in_force() const { return config_ ? &*config_ : nullptr; }
    // The kext accepted the candidate: it is in force, and saved.
    void accept_candidate();
    // The candidate does not fit the kext: dropped, the file is Bad.
    void refuse_candidate(const std::vector<Diagnostic>& errors);
    // `config` (the candidate or the one in force) does not fit the kext:
    // the file is Bad if that is where it came from.
    void note_refused(const LoadedConfig& config, const std::vector<Diagnostic>& errors);
    // The configuration in force was (re)applied: keep its saved copy.
    void save_in_force();

    const std::string& path() const { return path_; }
    const FileLoad& file_load() const { return file_load_; }
    // The bundle id of the configuration in force, else the candidate's; "" if neither.
    std::string bundle() const;

private:
    std::optional<LoadedConfig> read_at_startup();
    void record_errors(const std::vector<Diagnostic>& errors);

    std::string path_;
    StateStore& state_;
    std::optional<LoadedConfig> config_;
    std::optional<LoadedConfig> candidate_;
    // Hash of the file's text at the last read; a settled change with the
    // same content is ignored. Cleared when the file is deleted.
    std::optional<std::size_t> read_hash_;
    bool file_gone_ = false; // logged once per deletion
    FileLoad file_load_;
};

} // namespace kextconf
