// kextconfd: applies a JSON configuration file to a kext and keeps it applied.
#include "daemon.hpp"

#include <kextconf/admin_protocol.hpp>
#include <kextconf/check.hpp>
#include <kextconf/cli_usage.hpp>
#include <kextconf/logging.hpp>
#include <kextconf/managed_prefs.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>

namespace {

// An internal error (a bug), EX_SOFTWARE: launchd restarts the daemon, throttled.
constexpr int kExitInternal = 70;

// What the command line asks for.
struct CommandLine {
    kextconf::DaemonOptions daemon;
    bool check_only = false;
    bool syntax_only = false;
    bool print = false;
    std::string schema_path;
    int debounce_ms = static_cast<int>(kextconf::kReloadDebounce.count());
    std::string level = "info";
    bool foreground_log = false;
};

// The file and the one-shot modes (--check, --print-config).
void add_mode_options(CLI::App& app, CommandLine& c)
{
    app.add_option("-c,--config", c.daemon.config_path, "configuration file (JSON; // and /* */ comments allowed)")
        ->required();

    auto* check_flag =
        app.add_flag("-t,--check", c.check_only,
                     "validate the file and exit (0 valid, 1 invalid, 3 values not checked because no schema was "
                     "found); the values are checked against --schema FILE if given, else the running kext, else "
                     "the schema saved in --state-dir; the output names the schema used");
    app.add_flag("--syntax-only", c.syntax_only,
                 "with --check: check syntax and structure only, and exit 0 if they are good (no schema needed)")
        ->needs(check_flag);
    auto* print_flag = app.add_flag("--print-config", c.print,
                                    "print the effective configuration as JSON (the file's values over the kext's "
                                    "defaults; the file's values alone without a schema) and exit (0, or 1 if the "
                                    "file is invalid)");
    print_flag->excludes(check_flag);
    app.add_option("--schema", c.schema_path,
                   "with --check or --print-config: check against this schema (the JSON Schema `kextconfctl "
                   "schema` prints, or the schema.json saved in the state directory) instead of the running kext's")
        ->check(CLI::ExistingFile);
}

// How the daemon runs.
void add_daemon_options(CLI::App& app, CommandLine& c)
{
    app.add_option("--state-dir", c.daemon.state_dir,
                   "directory for the copy of the last configuration the kext accepted (applied at start-up when "
                   "the file is unusable) and the kext's schema (created 0700; must be root's and not "
                   "group/world-writable)")
        ->capture_default_str();
    app.add_option("--managed-prefs-dir", c.daemon.managed_prefs_dir,
                   std::string("directory where the organisation's MDM profile puts its payload, ") +
                       kextconf::kManagedDomain +
                       ".plist (keys Kext and Tunables); its tunables override the file's and cannot be changed by "
                       "`kextconfctl set`; watched like the file; the file must be root's and not writable by "
                       "others; \"\" for none")
        ->capture_default_str();
    app.add_option("--admin-socket", c.daemon.admin_socket,
                   "local socket kextconfctl and KextController talk to (status, reload, set, persist); created "
                   "0600, root only, or 0660 for --admin-group; default $KEXTCONFD_SOCKET, else " +
                       kextconf::admin::default_socket_path());
    app.add_option("--admin-group", c.daemon.admin_group,
                   "group whose members may use the admin socket like root (status, set, persist, reload); "
                   "membership is checked on every request; \"\" for root only")
        ->capture_default_str();

    app.add_option("--reload-debounce-ms", c.debounce_ms,
                   "how long the config file must stay quiet after a change before it is reloaded (milliseconds)")
        ->capture_default_str()
        ->check(CLI::Range(0, 60000));

    app.add_option("--log-level", c.level, "least severe level logged: trace, debug, info, warn, error")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.add_flag("--foreground-log", c.foreground_log,
                 "also copy the log to stderr where the log goes to os_log (macOS); on other systems the log is "
                 "stderr already");
}

// --check, --print-config, or the daemon itself; the exit status.
int run(CommandLine& c)
{
    c.daemon.reload_debounce = std::chrono::milliseconds(c.debounce_ms);
    const kextconf::CheckOptions check{c.daemon.config_path, c.schema_path, c.daemon.state_dir, c.syntax_only};
    if (c.check_only) {
        const kextconf::CheckReport report = kextconf::check_config(check);
        std::fputs(kextconf::diagnostics_text(report).c_str(), stderr);
        std::printf("%s\n", kextconf::verdict_text(report).c_str());
        return kextconf::exit_status(report);
    }
    if (c.print)
        return kextconf::print_config(check);
    kextconf::init_logging(kextconf::kLogSubsystem, spdlog::level::from_str(c.level), c.foreground_log);
    boost::asio::io_context io(1);
    kextconf::Daemon daemon(io, c.daemon);
    return daemon.run();
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"kextconfd: applies a JSON configuration file to a kext over its kernel control and keeps it "
                 "applied across kext reloads. Edits to the file, SIGHUP and `kextconfctl reload` reload it; "
                 "SIGTERM stops.\nExit status: 0 stopped by SIGTERM/SIGINT (or --check: valid), 1 cannot start "
                 "(or --check: invalid), 2 usage, 3 --check: values not checked (no schema found), 70 internal "
                 "error.",
                 "kextconfd"};
    CommandLine c;
    add_mode_options(app, c);
    add_daemon_options(app, c);
    app.set_version_flag("--version", "kextconfd " KEXTCONF_VERSION);
    if (const auto status = kextconf::cli::parse_command_line(app, argc, argv, /*json_errors=*/false))
        return *status;
    if (!c.schema_path.empty() && !c.check_only && !c.print) {
        std::fprintf(stderr, "kextconfd: --schema needs --check or --print-config\n");
        return kextconf::cli::kExitUsage;
    }
    try {
        return run(c);
    } catch (const std::exception& e) {
        // A bug, not a configuration problem: say so and let launchd restart us.
        std::fprintf(stderr, "kextconfd: internal error: %s\n", e.what());
        return kExitInternal;
    }
}
