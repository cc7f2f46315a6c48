// What every kextconfctl command shares: global options, exit statuses, how
// errors reach the user (text on stderr, or JSON on stdout with --json), and
// connecting to the kext's two controls and to kextconfd's admin socket.
// kextconfctl is single-threaded.
#pragma once

#include "kext_client.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace kextconf::ctl {

// Exit statuses, documented in --help and docs/operations.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // the kext or daemon refused, a bad file, an I/O error
inline constexpr int kExitUsage = 2;     // bad command line (CLI11's own status for parse errors too)
inline constexpr int kExitNotLoaded = 3; // the kext is not loaded
inline constexpr int kExitNoSuchTunable = 4;
inline constexpr int kExitNotRoot = 5;  // the command changes state: run as root
inline constexpr int kExitNoDaemon = 6; // kextconfd is not running (or not answering)

inline constexpr const char* kExitStatusHelp =
    "Exit status: 0 ok, 1 failure, 2 usage, 3 kext not loaded, 4 no such tunable, 5 needs root, "
    "6 kextconfd not running.";

struct Options {
    std::string kext = "org.kextconf.reference";
    bool json = false;
    std::string daemon_socket; // empty: admin::default_socket_path()
    std::string config = KEXTCONF_DEFAULT_CONFIG;
};

// A command to run once the command line is parsed.
using Command = std::function<int()>;

// Sets `slot` to `cmd` when `sub` is parsed.
inline void on_parsed(CLI::App* sub, Command& slot, Command cmd)
{
    sub->callback([&slot, cmd = std::move(cmd)] { slot = cmd; });
}

// An error for the user. With --json it is printed as {"error": ...} on
// stdout (scripts read one stream); otherwise "kextconfctl: ..." on stderr.
int fail(const Options& o, int status, const std::string& message, nlohmann::json extra = nlohmann::json::object());
int fail(const Options& o, const KextError& e);

// Status for a failed connect or request to the kext.
int exit_status_for(const KextError& e);

bool is_root();
// "run as root (sudo kextconfctl ARGS)" with the words of this command line.
std::string run_as_root_hint();
void remember_command_line(int argc, char** argv);

// The query control (anyone, read-only) or the admin control (root).
std::unique_ptr<KextClient> open_query(const Options& o, KextError& err);
// Checks root first so that a non-root user gets the fix, not EPERM.
std::unique_ptr<KextClient> open_admin(const Options& o, KextError& err);

// Asks kextconfd (admin_protocol.hpp). ec as admin::request.
nlohmann::json daemon_request(const Options& o, const std::string& cmd, std::error_code& ec);
// Why the daemon could not be asked, for a person.
std::string describe_daemon_error(const Options& o, std::error_code ec);
std::string daemon_socket_path(const Options& o);

} // namespace kextconf::ctl
