// `config check FILE` (the same check as kextconfd --check) and `reload`
// (through kextconfd's admin socket).
#include "commands.hpp"

#include "config_check.hpp"

#include <cstdio>
#include <iostream>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

int cmd_check(const Options& o, const std::string& path)
{
    const auto r = check_config_file(path);
    if (o.json) {
        json errors = json::array();
        for (const auto& d : r.errors)
            errors.push_back({{"file", d.file}, {"line", d.line}, {"col", d.col}, {"message", d.message},
                              {"text", d.str()}});
        json out{{"file", path}, {"ok", r.ok()}, {"validated", r.validated}, {"errors", errors}};
        if (!r.note.empty())
            out["note"] = r.note;
        std::cout << out.dump(2) << '\n';
        return r.ok() ? kExitOk : kExitFailure;
    }
    if (!r.note.empty())
        std::fprintf(stderr, "%s: note: %s\n", path.c_str(), r.note.c_str());
    for (const auto& d : r.errors)
        std::fprintf(stderr, "%s\n", d.str().c_str());
    if (!r.ok())
        return kExitFailure;
    std::printf("%s: OK%s\n", path.c_str(), r.validated ? "" : " (syntax only)");
    return kExitOk;
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
    auto file = std::make_shared<std::string>();
    auto* check = config->add_subcommand(
        "check", "validate FILE as kextconfd would (against the running kext's tunables when it is loaded; the "
                 "same errors as kextconfd --check): exit 0 valid, 1 not");
    check->add_option("FILE", *file, "configuration file")->required();
    on_parsed(check, run, [&o, file] { return cmd_check(o, *file); });

    auto* reload = app.add_subcommand(
        "reload", "make kextconfd re-read its configuration file and apply it (like SIGHUP, but waits for the result "
                  "and prints the file's errors); root only");
    // No root check here: kextconfd answers root and the user it runs as, and
    // says no itself (exit 5) to anyone else.
    on_parsed(reload, run, [&o] { return ask_daemon_reload(o); });
}

} // namespace kextconf::ctl
