// kextconfd's state machine: keeps the kext configured as the config file
// says. Waits on signals, kern_events and file-system notifications only (no
// polling); talks to the kext only while applying, so the kext can always be
// unloaded. The Daemon wires the parts on the io_context:
//   ConfigSource (config_source.hpp)  the file, the candidate, the configuration in force;
//   KextSession  (kext_session.hpp)   the load of the kext being followed;
//   Applier      (applier.hpp)        validate -> plan -> push -> verify;
//   StateStore   (state_store.hpp)    the saved last good copy and schema;
//   AdminServer  (admin_server.hpp)   status and reload (status.cpp), set and persist
//                                     (change_commands.cpp) for kextconfctl and KextController.
//
// Threading: everything runs on the io_context's one thread.
#pragma once

#include "admin_server.hpp"
#include "applier.hpp"
#include "config_source.hpp"
#include "config_watch.hpp"
#include "kext_session.hpp"
#include "state_store.hpp"

#include <kextconf/admin_protocol.hpp>
#include <kextconf/kernel_link.hpp>
#include <kextconf/state_dir.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace kextconf {

struct DaemonOptions {
    std::string config_path;
    // Holds <domain>.plist, the organisation's profile laid over the file; "" for none.
    std::string managed_prefs_dir = KEXTCONF_DEFAULT_MANAGED_PREFS_DIR;
    std::string state_dir = kDefaultStateDir;
    std::string admin_socket; // admin::default_socket_path() unless set
    // Members may use the admin socket too; "" for root only.
    std::string admin_group = KEXTCONF_DEFAULT_ADMIN_GROUP;
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
    // socket). A bad config file does not stop it: it applies the saved last
    // good copy, or waits for a fixed file.
    int run();

private:
    // Whether the kext is there, as last seen.
    enum class KextPresence {
        Unknown, // not looked yet
        Absent,  // control not registered; waiting for KEV_CTL_REGISTERED
        Present, // connected at least once since it appeared
    };

    // The daemon's last successful apply (status "applied").
    struct LastApply {
        std::uint64_t generation = 0;
        std::uint64_t config_hash = 0;
        std::chrono::system_clock::time_point at{};
        std::uint32_t changed = 0;
    };

    // Applies the candidate if there is one (it becomes the configuration in
    // force once the kext accepts it; if it does not fit, the configuration
    // in force is re-asserted), else the configuration in force.
    ApplyReport apply_current(const char* why);
    // Connects to `config`'s kext and applies it; counts and remembers the result.
    ApplyReport apply_to_kext(LoadedConfig& config, const char* why);
    std::unique_ptr<KextClient> connect_for_apply(const std::string& bundle, ApplyReport& report);
    void follow_kext_events(const std::string& bundle);
    // SIGHUP (forced: the file and the profile), settled file changes and
    // the admin socket's reload.
    admin::ReloadReply reload(bool forced);
    // A settled change in the managed-preferences directory.
    void reload_profile();
    // Watches the profile; while its directory does not exist (macOS makes
    // /Library/Managed Preferences with the first profile installed) watches
    // for the directory, then for the profile in it.
    void watch_managed();
    // A candidate whose values the kext already holds (a comment, the same
    // values written another way): it becomes the configuration in force
    // without a round trip to the kext. False when the kext must be asked.
    bool accept_without_kext();
    // Applies the candidate a reload made; fills `r` from the outcome.
    admin::ReloadReply apply_reload(admin::ReloadReply r);
    // A set or persist request naming tunables the profile manages: the refusal, else "".
    std::string managed_refusals(const nlohmann::json& values, std::vector<std::string>& errors) const;

    // Drift (status.cpp): re-reads the kext's state after a hint that it
    // changed behind the daemon's back (coalesced: at most one re-read pending).
    void schedule_reread(const char* why);
    void check_drift(const char* why);
    // The configuration in force compared with what the kext holds.
    admin::DriftState compute_drift(KextClient& kext, const kc_state& st, std::vector<admin::DriftEntry>& out);
    admin::StatusReply status();
    admin::KextInfo kext_status(std::vector<admin::DriftEntry>& drift, admin::DriftState& drift_state);
    std::optional<admin::ManagedInfo> managed_status() const;
    // Each tunable's source in the loaded kext (empty unless the configuration in force was applied to it).
    std::vector<std::pair<std::string, admin::ValueSource>> value_sources(const admin::StatusReply& r);

    // The admin group's change commands (change_commands.cpp): a transient
    // transaction, and an edit of the file that is then reloaded.
    admin::SetReply set(const admin::ChangeRequest& req);
    admin::PersistReply persist(const admin::ChangeRequest& req);

    void on_ctl_event(const KernEvent& e);
    void on_kext_event(const KernEvent& e);
    bool open_event_sockets();
    boost::asio::awaitable<void> watch_signals(boost::asio::signal_set& signals);
    // Handles every event waiting on `sock`; false when it failed (logged; the daemon stops).
    bool handle_waiting_events(EventSocket& sock, bool kext_events);
    boost::asio::awaitable<void> watch_events(EventSocket& sock, boost::asio::posix::stream_descriptor& fd,
                                              bool kext_events);

    boost::asio::io_context& io_;
    DaemonOptions opts_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    StateStore state_;
    ConfigSource source_;
    ConfigWatch watch_;
    ConfigWatch managed_watch_;
    ConfigWatch managed_dir_watch_; // only while the managed directory does not exist
    bool watching_profile_ = false;
    SchemaCache schema_cache_; // off until the state directory is found usable
    KextSession session_;
    Applier applier_{session_};
    std::unique_ptr<EventSocket> ctl_events_;
    std::unique_ptr<EventSocket> kext_events_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> ctl_events_fd_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> kext_events_fd_;
    KextPresence presence_ = KextPresence::Unknown;
    std::uint32_t vendor_code_ = 0;
    int exit_status_ = 0;
    std::optional<LastApply> last_apply_;
    admin::Counters counters_;
    bool reread_pending_ = false;
    // The drift last reported (names and values), so a repeat is not logged twice.
    std::string reported_drift_;
    std::unique_ptr<AdminServer> admin_;
};

} // namespace kextconf
