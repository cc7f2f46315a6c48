// kextconfd's state machine: keeps the kext configured as the config file
// says. Waits on signals and kern_events only (no polling); talks to the kext
// only while applying, so the kext can always be unloaded.
//
// Threading: everything runs on the io_context's one thread.
#pragma once

#include "config_loader.hpp"
#include "kernel_link.hpp"
#include "kext_client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace kextconf {

struct DaemonOptions {
    std::string config_path;
};

class Daemon {
public:
    Daemon(boost::asio::io_context& io, DaemonOptions opts);
    // Returns the process exit status: 0 after SIGTERM/SIGINT, 1 when the
    // daemon cannot start (unreadable or invalid config, no kernel link).
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

    // Reads and parses the file; nullopt (errors logged) if it is unusable.
    std::optional<ConfigDocument> load_config(bool at_startup);
    // Applies the candidate from the last reload if there is one (it becomes
    // the configuration in force once the kext accepts it), else the
    // configuration in force.
    void apply_current(const char* why);
    ApplyOutcome try_apply(const ConfigDocument& doc, const char* why);
    void check_drift(const char* why);
    void on_ctl_event(const KernEvent& e);
    void on_kext_event(const KernEvent& e);
    boost::asio::awaitable<void> watch_signals(boost::asio::signal_set& signals);
    boost::asio::awaitable<void> watch_events(EventSocket& sock, boost::asio::posix::stream_descriptor& fd,
                                              bool kext_events);

    boost::asio::io_context& io_;
    DaemonOptions opts_;
    // In force: the last document the kext accepted (before any contact with
    // the kext: the file read at start-up). A bad edit never replaces it.
    std::optional<ConfigDocument> config_;
    // Read at a reload while the kext was absent, not yet checked against it.
    std::optional<ConfigDocument> candidate_;
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
    int exit_status_ = 0;
};

} // namespace kextconf
