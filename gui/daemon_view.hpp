// Talking to kextconfd for the window: its admin socket through daemon/'s
// admin client (status, reload, set, persist), and what a person reads of
// the answers. Plain C++; requests are local and bounded by kDaemonTimeout.
#pragma once

#include <kextconf/admin_protocol.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <system_error>
#include <vector>

namespace kextconf::gui {

// A reload or persist waits for the apply; a local daemon answers in ms,
// a 100,000-entry list in about a second (docs/gui.md).
inline constexpr std::chrono::milliseconds kDaemonTimeout{10000};

struct DaemonReply {
    bool reached = false;            // an answer came (else `error` says why not)
    bool ok = false;                 // the daemon did what was asked
    bool denied = false;             // not root nor in the admin group (may not ask)
    std::string error;               // for a person, when !ok
    std::vector<std::string> errors; // the daemon's file:line:col or per-tunable list
    nlohmann::json body;             // the whole reply when reached
};

// Sends {"v":1,"cmd":cmd, ...extra} to the socket at `path`.
DaemonReply ask_daemon(const std::string& path, const std::string& cmd,
                       const nlohmann::json& extra = nlohmann::json::object());

// Lines for the Daemon area from a status reply: running, config, last
// apply, drift, last error.
struct DaemonSummary {
    std::string running;
    std::string config;
    std::string last_apply;
    std::string drift;
    std::string last_error; // "" when the last load had no errors
};
DaemonSummary summarize_status(const admin::StatusReply& status);

} // namespace kextconf::gui
