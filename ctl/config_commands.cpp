// `config check FILE` (the same check as kextconfd --check) and `reload`
// (through kextconfd's admin socket).
#include "commands.hpp"

#include <kextconf/admin_protocol.hpp>
#include <kextconf/check.hpp>

#include <cstdio>
#include <iostream>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

struct CheckArgs {
    std::string file;
    std::string schema;
    std::string state_dir = KEXTCONF_DEFAULT_STATE_DIR; // kextconfd's
    bool syntax_only = false;
};

// kextconfd --check's own check (check.hpp): the same diagnostics on stderr,
// and the verdict line on stdout, or the report as JSON under --json.
int cmd_check(const Options& o, const CheckArgs& a)
{
    const CheckReport report = check_config(CheckOptions{a.file, a.schema, a.state_dir, a.syntax_only});
    std::fputs(diagnostics_text(report).c_str(), stderr);
    if (o.json)
        std::cout << to_json(report).dump(2) << '\n';
    else
        std::printf("%s\n", verdict_text(report).c_str());
    return exit_status(report);
}

} // namespace

int ask_daemon_reload(const Options& o)
{
    std::error_code ec;
    const json reply = daemon_request(o, "reload", ec);
    if (ec)
        return fail(o, daemon_exit_status(ec), describe_daemon_error(o, ec));
    const admin::ReloadReply r = reply.get<admin::ReloadReply>();
    if (o.json) {
        std::cout << json(r).dump(2) << '\n';
        return r.ok ? kExitOk : kExitFailure;
    }
    for (const auto& e : r.errors)
        std::fprintf(stderr, "%s\n", e.c_str());
    if (!r.ok) {
        std::fprintf(stderr, "kextconfctl: reload failed: %s\n",
                     r.error.empty() ? "see the errors above" : r.error.c_str());
        std::fprintf(stderr, "kextconfctl: kextconfd keeps the last good configuration applied\n");
        return kExitFailure;
    }
    if (!r.applied) {
        std::printf("reloaded: the file is good; the kext is not loaded, so it is applied when it loads\n");
    } else if (r.changed.empty()) {
        std::printf("reloaded: the kext already held what the file says\n");
    } else {
        std::string names;
        for (const auto& n : r.changed)
            names += (names.empty() ? "" : ", ") + n;
        std::printf("reloaded and applied: %zu changed (%s)\n", r.changed.size(), names.c_str());
    }
    return kExitOk;
}

void add_config_commands(CLI::App& app, Options& o, Command& run)
{
    auto* config = app.add_subcommand("config", "configuration files");
    config->require_subcommand(1);
    auto a = std::make_shared<CheckArgs>();
    auto* check =
        add_command(*config, run, "check",
                    "validate FILE exactly as kextconfd --check does (against the running kext's tunables, else the "
                    "schema kextconfd saved in --state-dir; diagnostics on stderr, with --json too): exit 0 valid, 1 "
                    "not, 3 values not checked (no schema found)",
                    [&o, a] { return cmd_check(o, *a); });
    check->add_option("FILE", a->file, "configuration file")->required();
    check->add_option("--schema", a->schema, "check against this schema document (kextconfctl schema -o FILE)");
    check->add_option("--state-dir", a->state_dir, "kextconfd's state directory (its saved schema)")
        ->capture_default_str();
    check->add_flag("--syntax-only", a->syntax_only, "check syntax and structure only; exit 0 if they are good");

    // No root check here: kextconfd answers root and the user it runs as, and
    // says no itself (exit 5) to anyone else.
    add_command(app, run, "reload",
                "make kextconfd re-read its configuration file and apply it (like SIGHUP, but waits for the result "
                "and prints the file's errors); root only",
                [&o] { return ask_daemon_reload(o); });
}

} // namespace kextconf::ctl
