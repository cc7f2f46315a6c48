// kextconfctl: the administrator's controller for a kextconf kext. Each
// command group lives in its own file (commands.hpp); this file parses the
// command line and runs the command chosen.
#include "commands.hpp"
#include <kextconf/cli_usage.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace {

using namespace kextconf::ctl;

int run_guarded(const Command& run)
{
    try {
        return run ? run() : kExitUsage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kextconfctl: internal error: %s\n", e.what());
        return kExitFailure;
    }
}

// `kextconfctl get [NAME...]` with no option anywhere, the form a script
// runs in a loop: the parser below would take every word after `get` as a
// NAME (a word starting with '-' is what it could read otherwise), so it is
// not built. Building every command's parser was a quarter of a one-shot
// get's instructions (docs/performance.md, benchmark 9).
bool is_plain_get(int argc, char** argv)
{
    return argc >= 2 && std::strcmp(argv[1], "get") == 0 &&
           std::none_of(argv + 2, argv + argc, [](const char* word) { return word[0] == '-'; });
}

} // namespace

int main(int argc, char** argv)
{
    if (is_plain_get(argc, argv)) {
        remember_command_line(argc, argv);
        const Options defaults;
        return run_guarded([&] { return get_command(defaults, {argv + 2, argv + argc}); });
    }
    CLI::App app{std::string("kextconfctl: inspect and control a kext configured by kextconf.\n"
                             "Read commands (status, get, describe, schema, config check, events, top, kext status) "
                             "work for any user; set, reload and kext load/unload need root.\n") +
                     kExitStatusHelp,
                 "kextconfctl"};
    Options o;
    remember_command_line(argc, argv);
    app.fallthrough(); // global options are accepted after the command too
    app.add_option("--kext", o.kext, "bundle id of the kext")->capture_default_str();
    app.add_flag("--json", o.json, "machine-readable output (errors too, as {\"error\": ...} on stdout)");
    app.add_option("--daemon-socket", o.daemon_socket,
                   "kextconfd's admin socket (default: $KEXTCONFD_SOCKET, else " KEXTCONF_DEFAULT_ADMIN_SOCKET ")");
    app.add_option("--config", o.config,
                   "kextconfd's configuration file, for set --persist (default: the file the running kextconfd uses)");
    app.require_subcommand(1);
    app.set_version_flag("--version", "kextconfctl " KEXTCONF_VERSION);

    Command run;
    add_read_commands(app, o, run);
    add_schema_command(app, o, run);
    add_set_command(app, o, run);
    add_config_commands(app, o, run);
    add_events_command(app, o, run);
    add_kext_commands(app, o, run);
    add_top_command(app, o, run);
    add_profile_command(app, o, run);
    // --json decides where a usage error goes before the line has parsed.
    bool json = false;
    for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
        json = json || std::strcmp(argv[i], "--json") == 0;
    if (const auto status = kextconf::cli::parse_command_line(app, argc, argv, json))
        return *status;
    return run_guarded(run);
}
