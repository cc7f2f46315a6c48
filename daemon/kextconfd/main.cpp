// kextconfd: applies a JSON configuration file to a kext and keeps it applied.
#include "admin_protocol.hpp"
#include "check.hpp"
#include "daemon.hpp"
#include "logging.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>

namespace {

// Exit status of a usage error (bad flags), as for kextconfctl.
constexpr int kExitUsage = 2;
// An internal error (a bug), EX_SOFTWARE: launchd restarts the daemon, throttled.
constexpr int kExitInternal = 70;

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"kextconfd: applies a JSON configuration file to a kext over its kernel control and keeps it "
                 "applied across kext reloads. Edits to the file, SIGHUP and `kextconfctl reload` reload it; "
                 "SIGTERM stops.\nExit status: 0 stopped by SIGTERM/SIGINT (or --check: valid), 1 cannot start "
                 "(or --check: invalid), 2 usage, 70 internal error."};
    kextconf::DaemonOptions opts;

    app.add_option("-c,--config", opts.config_path, "configuration file (JSON; // and /* */ comments allowed)")
        ->required();

    bool check_only = false;
    auto* check_flag =
        app.add_flag("-t,--check", check_only,
                     "validate the file and exit (0 valid, 1 invalid); the values are checked against --schema "
                     "FILE if given, else the running kext, else the schema saved in --state-dir; the output names "
                     "the schema used");
    bool print = false;
    auto* print_flag = app.add_flag("--print-config", print,
                                    "print the effective configuration as JSON (the file's values over the kext's "
                                    "defaults; the file's values alone without a schema) and exit (0, or 1 if the "
                                    "file is invalid)");
    print_flag->excludes(check_flag);
    std::string schema_path;
    app.add_option("--schema", schema_path,
                   "with --check or --print-config: check against this schema (the JSON Schema `kextconfctl "
                   "schema` prints, or the schema.json saved in the state directory) instead of the running kext's")
        ->check(CLI::ExistingFile);

    app.add_option("--state-dir", opts.state_dir,
                   "directory for the copy of the last configuration the kext accepted (applied at start-up when "
                   "the file is unusable) and the kext's schema (created 0700; must be root's and not "
                   "group/world-writable)")
        ->capture_default_str();
    app.add_option("--admin-socket", opts.admin_socket,
                   "local socket kextconfctl and KextController talk to (status, reload, set, persist); created "
                   "0600, root only, or 0660 for --admin-group; default $KEXTCONFD_SOCKET, else " +
                       kextconf::admin::default_socket_path());
    opts.admin_group = KEXTCONF_DEFAULT_ADMIN_GROUP;
    app.add_option("--admin-group", opts.admin_group,
                   "group whose members may use the admin socket like root (status, set, persist, reload); "
                   "membership is checked on every request; \"\" for root only")
        ->capture_default_str();

    int debounce_ms = static_cast<int>(kextconf::kReloadDebounce.count());
    app.add_option("--reload-debounce-ms", debounce_ms,
                   "how long the config file must stay quiet after a change before it is reloaded (milliseconds)")
        ->capture_default_str()
        ->check(CLI::Range(0, 60000));

    std::string level = "info";
    app.add_option("--log-level", level, "least severe level logged: trace, debug, info, warn, error")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    bool foreground_log = false;
    app.add_flag("--foreground-log", foreground_log,
                 "also copy the log to stderr where the log goes to os_log (macOS); on other systems the log is "
                 "stderr already");

    app.set_version_flag("--version", "kextconfd " KEXTCONF_VERSION);
    try {
        app.parse(argc, argv);
        if (!schema_path.empty() && !check_only && !print)
            throw CLI::ValidationError("--schema", "needs --check or --print-config");
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e); // prints help, the version, or the error
        return rc == 0 ? 0 : kExitUsage;
    }
    opts.reload_debounce = std::chrono::milliseconds(debounce_ms);

    try {
        const kextconf::CheckOptions check{opts.config_path, schema_path, opts.state_dir};
        if (check_only)
            return kextconf::check_config(check);
        if (print)
            return kextconf::print_config(check);
        kextconf::init_logging(kextconf::kLogSubsystem, spdlog::level::from_str(level), foreground_log);
        boost::asio::io_context io(1);
        kextconf::Daemon daemon(io, opts);
        return daemon.run();
    } catch (const std::exception& e) {
        // A bug, not a configuration problem: say so and let launchd restart us.
        std::fprintf(stderr, "kextconfd: internal error: %s\n", e.what());
        return kExitInternal;
    }
}
