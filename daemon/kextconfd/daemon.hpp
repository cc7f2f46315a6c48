// kextconfd's state machine: keeps the kext configured as the config file
// says. Waits on signals, kern_events and file-system notifications only (no
// polling); talks to the kext only while applying, so the kext can always be
// unloaded. The reload and start-up choice of configuration are in
// reloader.cpp; the saved last good copy in state_store.hpp.
//
// Threading: everything runs on the io_context's one thread.
#pragma once

#include "admin_server.hpp"
#include "config_loader.hpp"
#include "config_watch.hpp"
#include "kernel_link.hpp"
#include "kext_client.hpp"
#include "state_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace kextconf {

struct DaemonOptions {
    std::string config_path;
    std::string state_dir = kDefaultStateDir;
    std::string admin_socket; // admin::default_socket_path() unless set
    std::string admin_group;  // members may use the admin socket too; "" for root only
    std::chrono::milliseconds reload_debounce = kReloadDebounce;
};

// Exit status of a daemon that could not start (no kernel event socket, the
// admin socket taken or unsafe); launchd restarts it, throttled.
inline constexpr int kExitCannotStart = 1;

class Daemon {
public:
    Daemon(boost::asio::io_context& io, DaemonOptions opts);
    // Returns the process exit status: 0 after SIGTERM/SIGINT,
    // kExitCannotStart when the daemon cannot start (no kernel link, no admin
    // socket). A bad config file does not stop
    // it: it applies the saved last good copy, or waits for a fixed file.
    int run();

private:
    enum class KextState {
        Unknown, // not looked yet
        Absent,  // control not registered; waiting for KEV_CTL_REGISTERED
        Present, // connected at least once since it appeared
    };

    enum class ApplyOutcome {
        Applied,  // the kext now holds the document's values (or already did)
        Rejected, // the document does not fit the kext's schema
        Absent,   // the kext is not loaded
        Failed,   // the kext refused or the link failed; see the log
    };

    // Where a configuration came from.
    enum class Source {
        File,      // the config file
        SavedCopy, // the state directory's last good copy (the file was unusable at start-up)
    };

    // A parsed configuration and the exact text it came from (saved as the
    // last good copy once the kext accepts it).
    struct LoadedConfig {
        ConfigDocument doc;
        std::string text;
        Source source = Source::File;
    };

    // The config file's last load (start-up, edit, SIGHUP, admin reload).
    enum class FileState {
        Missing, // not there (or never read)
        Good,    // parsed, and fitted the kext's schema when last checked
        Bad,     // unreadable, unsafe, did not parse or did not fit; see errors
    };
    struct FileLoad {
        FileState state = FileState::Missing;
        std::vector<std::string> errors; // file:line:col: error: ...
        std::chrono::system_clock::time_point at{};
    };

    // The daemon's last successful apply (status "applied").
    struct LastApply {
        std::uint64_t generation = 0;
        std::uint64_t config_hash = 0;
        std::chrono::system_clock::time_point at{};
        std::uint32_t changed = 0;
        std::vector<std::string> changed_names;
    };

    // What a reload did, for the admin socket's reply.
    struct ReloadResult {
        bool ok = false;
        bool applied = false;
        std::vector<std::string> changed;
        std::vector<std::string> errors;
        std::string error;
    };

    // A tunable whose value in the kext is not what the configuration in
    // force says (status "drift").
    struct Drift {
        std::string name;
        nlohmann::json file;
        nlohmann::json kext;
    };

    struct Counters {
        std::uint64_t applies = 0;        // commits the daemon made (and verified)
        std::uint64_t apply_failures = 0; // applies that failed (refused, link error, verification)
        std::uint64_t reloads = 0;        // file reloads: edits, SIGHUP, admin
        std::uint64_t events = 0;         // kext events received
        std::uint64_t seq_gaps = 0;       // gaps in their sequence numbers
        std::uint64_t rereads = 0;        // state re-reads those (and foreign commits) caused
    };

    // Start-up: the file becomes the candidate if it parses; the saved last
    // good copy (if any) becomes the configuration in force, the fallback
    // should the file be unusable or not fit the kext. (reloader.cpp)
    void load_at_startup();
    // SIGHUP (forced) and settled file changes: read the file; unless it is
    // unchanged since the last read (and not forced), make it the candidate
    // and apply. A deleted file keeps the configuration in force. (reloader.cpp)
    ReloadResult reload(bool forced);
    // Reads and parses the config file at start-up; nullopt (errors logged)
    // if it is unusable. Records the text's hash.
    std::optional<LoadedConfig> read_config(const std::string& path);
    // Applies the candidate from the last reload if there is one (it becomes
    // the configuration in force once the kext accepts it), else the
    // configuration in force.
    ApplyOutcome apply_current(const char* why);
    ApplyOutcome try_apply(const ConfigDocument& doc, const char* why);
    // Re-reads the kext's state after a hint that it changed behind the
    // daemon's back (coalesced: at most one re-read pending). (status.cpp)
    void schedule_reread(const char* why);
    void check_drift(const char* why);
    // The configuration in force compared with what the kext holds; nullopt
    // if the kext cannot be read or the configuration no longer fits it.
    std::optional<std::vector<Drift>> compute_drift(KextClient& kext);
    void record_file_errors(const std::vector<Diagnostic>& errors);
    // Admin socket commands (status.cpp).
    nlohmann::json status_json();
    nlohmann::json reload_json();
    // The admin group's change commands (change_commands.cpp).
    nlohmann::json set_json(const nlohmann::json& req);
    nlohmann::json persist_json(const nlohmann::json& req);
    // The kext the configuration names ("" before any configuration).
    std::string configured_kext() const;
    void on_ctl_event(const KernEvent& e);
    void on_kext_event(const KernEvent& e);
    boost::asio::awaitable<void> watch_signals(boost::asio::signal_set& signals);
    boost::asio::awaitable<void> watch_events(EventSocket& sock, boost::asio::posix::stream_descriptor& fd,
                                              bool kext_events);

    boost::asio::io_context& io_;
    DaemonOptions opts_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    // In force: the last document the kext accepted (before any contact with
    // the kext: the file read at start-up). A bad edit never replaces it.
    std::optional<LoadedConfig> config_;
    // Read at start-up or a reload, not yet accepted by the kext (it was
    // absent, or refused it for a reason other than the schema).
    std::optional<LoadedConfig> candidate_;
    StateStore state_;
    ConfigWatch watch_;
    // Hash of the config file's text at the last read; a settled change with
    // the same content is ignored. Cleared when the file is deleted.
    std::optional<std::size_t> read_hash_;
    bool file_gone_ = false; // logged once per deletion
    std::unique_ptr<EventSocket> ctl_events_;
    std::unique_ptr<EventSocket> kext_events_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> ctl_events_fd_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> kext_events_fd_;
    KextState kext_state_ = KextState::Unknown;
    std::uint32_t vendor_code_ = 0;
    // Last load of the kext we applied to, and what we left it at.
    std::uint32_t load_id_ = 0;
    std::uint32_t last_seq_ = 0;
    std::uint64_t applied_generation_ = 0;
    std::uint64_t applied_hash_ = 0;
    // What this daemon knows of the kext, to spare round trips on a reload
    // (docs/performance.md, benchmark 4): its table, which cannot change
    // within one load, and its values while the kext still reports the
    // generation and hash this daemon verified after its last apply.
    struct KnownKext {
        std::string bundle;
        std::uint32_t load_id = 0;
        std::vector<proto::TunableDesc> schema;
        bool values_known = false;
        std::uint64_t generation = 0;
        std::uint64_t config_hash = 0;
        std::vector<proto::Value> values; // schema order
    };
    std::optional<KnownKext> known_;
    // The kext's values when its content hash shows it holds its defaults or
    // the last good configuration; nullopt when they must be read.
    std::optional<std::vector<proto::Value>> known_values_by_hash(const std::vector<proto::TunableDesc>& schema,
                                                                  std::uint64_t config_hash) const;
    int exit_status_ = 0;
    FileLoad file_load_;
    std::optional<LastApply> last_apply_;
    Counters counters_;
    // Set by try_apply for the caller: the validation errors of a refused
    // document, or why an apply failed.
    std::vector<std::string> apply_errors_;
    std::string apply_failure_;
    bool reread_pending_ = false;
    // The drift last reported (names and values), so a repeat is not logged twice.
    std::string reported_drift_;
    std::unique_ptr<AdminServer> admin_;
};

} // namespace kextconf
