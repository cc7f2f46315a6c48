// `config check FILE` (the same check as kextconfd --check) and `reload`
// (through kextconfd's admin socket).
#include "commands.hpp"

#include <kextconf/check.hpp>

#include <cstdio>
#include <fcntl.h>
#include <iostream>
#include <unistd.h>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

struct CheckArgs {
    std::string file;
    std::string schema;
    std::string state_dir = "/" KEXTCONF_INSTALL_STATEDIR;
};

// kextconfd --check's own code (daemon/kextconfd/check.cpp): the same
// diagnostics on stderr, the same "FILE: OK (schema: ...)" on stdout.
int cmd_check(const Options& o, const CheckArgs& a)
{
    if (!o.json)
        return check_config(CheckOptions{a.file, a.schema, a.state_dir}) == 0 ? kExitOk : kExitFailure;
    // --json: the JSON line replaces the text summary on stdout.
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0)
        ::dup2(null, STDOUT_FILENO);
    const int status = check_config(CheckOptions{a.file, a.schema, a.state_dir});
    std::fflush(stdout);
    if (saved >= 0 && null >= 0)
        ::dup2(saved, STDOUT_FILENO);
    for (int fd : {saved, null})
        if (fd >= 0)
            ::close(fd);
    std::cout << json{{"file", a.file}, {"ok", status == 0}, {"exit_status", status}}.dump(2) << '\n';
    return status == 0 ? kExitOk : kExitFailure;
}

} // namespace

int ask_daemon_reload(const Options& o)
{
    std::error_code ec;
    const json reply = daemon_request(o, "reload", ec);
    if (ec) {
        const bool absent = ec == std::errc::no_such_file_or_directory || ec == std::errc::connection_refused;
        const bool denied = ec == std::errc::permission_denied;
        return fail(o, absent ? kExitNoDaemon : denied ? kExitNotRoot : kExitFailure, describe_daemon_error(o, ec));
    }
    const bool ok = reply.value("ok", false);
    if (o.json) {
        json out = reply;
        out.erase("v");
        std::cout << out.dump(2) << '\n';
        return ok ? kExitOk : kExitFailure;
    }
    for (const auto& e : reply.value("errors", json::array()))
        std::fprintf(stderr, "%s\n", e.is_string() ? e.get<std::string>().c_str() : e.dump().c_str());
    if (!ok) {
        std::fprintf(stderr, "kextconfctl: reload failed: %s\n",
                     reply.value("error", std::string("see the errors above")).c_str());
        std::fprintf(stderr, "kextconfctl: kextconfd keeps the last good configuration applied\n");
        return kExitFailure;
    }
    const json changed = reply.value("changed", json::array());
    if (!reply.value("applied", false)) {
        std::printf("reloaded: the file is good; the kext is not loaded, so it is applied when it loads\n");
    } else if (changed.empty()) {
        std::printf("reloaded: the kext already held what the file says\n");
    } else {
        std::string names;
        for (const auto& n : changed)
            names += (names.empty() ? "" : ", ") + (n.is_string() ? n.get<std::string>() : n.dump());
        std::printf("reloaded and applied: %zu changed (%s)\n", changed.size(), names.c_str());
    }
    return kExitOk;
}

void add_config_commands(CLI::App& app, Options& o, Command& run)
{
    auto* config = app.add_subcommand("config", "configuration files");
    config->require_subcommand(1);
    auto a = std::make_shared<CheckArgs>();
    auto* check = config->add_subcommand(
        "check", "validate FILE exactly as kextconfd --check does (against the running kext's tunables, else the "
                 "schema kextconfd saved in --state-dir, else syntax only; diagnostics on stderr, with --json too): "
                 "exit 0 valid, 1 not");
    check->add_option("FILE", a->file, "configuration file")->required();
    check->add_option("--schema", a->schema, "check against this schema document (kextconfctl schema -o FILE)");
    check->add_option("--state-dir", a->state_dir, "kextconfd's state directory (its saved schema)")
        ->capture_default_str();
    on_parsed(check, run, [&o, a] { return cmd_check(o, *a); });

    auto* reload = app.add_subcommand(
        "reload", "make kextconfd re-read its configuration file and apply it (like SIGHUP, but waits for the result "
                  "and prints the file's errors); root only");
    // No root check here: kextconfd answers root and the user it runs as, and
    // says no itself (exit 5) to anyone else.
    on_parsed(reload, run, [&o] { return ask_daemon_reload(o); });
}

} // namespace kextconf::ctl
