// What every kextconfctl command shares: global options, exit statuses, how
// errors reach the user (text on stderr, or JSON on stdout with --json), and
// connecting to the kext's two controls and to kextconfd's admin socket.
// kextconfctl is single-threaded.
#pragma once

#include <kextconf/kext_client.hpp>
#include <kextconf/values.hpp>

#include <kextconf/defaults.hpp>

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
inline constexpr int kExitUsage = 2;     // bad command line (cli_usage.hpp reports parse errors with it too)
inline constexpr int kExitNotLoaded = 3; // the kext is not loaded
inline constexpr int kExitNoSuchTunable = 4;
inline constexpr int kExitNotRoot = 5;  // the command changes state: run as root
inline constexpr int kExitNoDaemon = 6; // kextconfd is not running (or not answering)

inline constexpr const char* kExitStatusHelp =
    "Exit status: 0 ok, 1 failure, 2 usage, 3 kext not loaded (config check: values not checked), 4 no such "
    "tunable, 5 needs root, "
    "6 kextconfd not running.";

struct Options {
    std::string kext = KEXTCONF_DEFAULT_KEXT;
    bool json = false;
    std::string daemon_socket; // empty: admin::default_socket_path()
    std::string config;        // empty: the file the running kextconfd uses (daemon_config_path)
};

// A command to run once the command line is parsed.
using Command = std::function<int()>;

// Subcommand `name` of `parent`, which sets `slot` to `cmd` when parsed;
// its options are added to what this returns.
inline CLI::App* add_command(CLI::App& parent, Command& slot, const std::string& name, const std::string& help,
                             Command cmd)
{
    CLI::App* sub = parent.add_subcommand(name, help);
    sub->callback([&slot, cmd = std::move(cmd)] { slot = cmd; });
    return sub;
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
// The query control and the kext's table; nullptr once the failure is
// reported, `status` then being the exit status.
std::unique_ptr<KextClient> open_described(const Options& o, std::vector<proto::TunableDesc>& schema, int& status);
// Checks root first so that a non-root user gets the fix, not EPERM.
std::unique_ptr<KextClient> open_admin(const Options& o, KextError& err);

// Asks kextconfd (admin_protocol.hpp). ec as admin::request.
nlohmann::json daemon_request(const Options& o, const std::string& cmd, std::error_code& ec);
// Exit status for a failed request to kextconfd (not running, not root, ...).
int daemon_exit_status(std::error_code ec);
// Why the daemon could not be asked, for a person.
std::string describe_daemon_error(const Options& o, std::error_code ec);
std::string daemon_socket_path(const Options& o);
// The configuration file the running kextconfd uses (its status reply's
// config.path); "" and ec set when it cannot be asked.
std::string daemon_config_path(const Options& o, std::error_code& ec);
// The file a command works on: `given` (a --config or --from), else the one
// the running kextconfd uses, which must be absolute. Otherwise an exit
// status other than kExitOk, the error naming `what` the command does with
// the file ("set --persist edits") and `flag`, the option that names it.
int config_file_to_use(const Options& o, const std::string& given, const std::string& what, const std::string& flag,
                       std::string& path);

} // namespace kextconf::ctl
