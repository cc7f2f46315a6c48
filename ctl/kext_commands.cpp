// `kext load|unload|status`: the kext itself, through the kernel link's
// loader (kmutil on macOS, kextsim here).
#include "commands.hpp"

#include <cstdio>
#include <iostream>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

int cmd_load(const Options& o, const std::string& path)
{
    if (!is_root())
        return fail(o, kExitNotRoot, "loading a kext needs root: " + run_as_root_hint());
    const auto r = load_kext_bundle(path);
    if (r)
        return fail(o, kExitFailure, "cannot load " + path + ": " + r.message);
    if (o.json)
        std::cout << json{{"loaded", true}, {"bundle", path}, {"message", r.message}}.dump(2) << '\n';
    else
        std::printf("loaded %s%s%s\n", path.c_str(), r.message.empty() ? "" : ": ", r.message.c_str());
    return kExitOk;
}

int cmd_unload(const Options& o)
{
    if (!is_root())
        return fail(o, kExitNotRoot, "unloading a kext needs root: " + run_as_root_hint());
    const auto r = unload_kext_bundle(o.kext);
    if (r) {
        bool loaded = true;
        kext_load_state(o.kext, loaded);
        if (!loaded)
            return fail(o, kExitNotLoaded, "the kext is not loaded: " + r.message);
        return fail(o, kExitFailure,
                    "cannot unload " + o.kext + ": " + r.message +
                        " (the kext refuses to stop while clients are connected; kextconfd connects only while "
                        "applying)");
    }
    if (o.json)
        std::cout << json{{"loaded", false}, {"kext", o.kext}, {"message", r.message}}.dump(2) << '\n';
    else
        std::printf("unloaded %s\n", o.kext.c_str());
    return kExitOk;
}

int cmd_kext_status(const Options& o)
{
    bool loaded = false;
    auto r = kext_load_state(o.kext, loaded);
    if (r && (r.ec == std::errc::operation_not_permitted || r.ec == std::errc::permission_denied)) {
        // The loader answers root only (kextsim); the query control answers anyone.
        KextError err;
        loaded = open_query(o, err) != nullptr || exit_status_for(err) != kExitNotLoaded;
        r = {{}, "(the loader answers root only; this is what the kext's query control says)"};
    }
    if (r)
        return fail(o, kExitFailure, "cannot ask " + kernel_link_description() + ": " + r.message);
    json out{{"kext", o.kext}, {"loaded", loaded}, {"loader", r.message}};
    if (loaded) {
        KextError err;
        if (auto kext = open_query(o, err)) {
            out["kext_version"] = proto::field_string(kext->hello().kext_version);
            out["protocol_version"] = kext->hello().proto_version;
            out["tunables"] = kext->hello().tunable_count;
        } else {
            out["control"] = err.message; // loaded, but its control is not there (yet)
        }
    }
    if (o.json) {
        std::cout << out.dump(2) << '\n';
    } else if (!loaded) {
        std::printf("%s: not loaded (kextconfctl kext load)\n", o.kext.c_str());
    } else {
        std::printf("%s: loaded\n  %s\n", o.kext.c_str(), r.message.c_str());
        if (out.contains("kext_version"))
            std::printf("  version %s, protocol %u, %u tunables\n", out["kext_version"].get<std::string>().c_str(),
                        out["protocol_version"].get<unsigned>(), out["tunables"].get<unsigned>());
        else
            std::printf("  its control does not answer: %s\n", out["control"].get<std::string>().c_str());
    }
    return loaded ? kExitOk : kExitNotLoaded;
}

} // namespace

void add_kext_commands(CLI::App& app, Options& o, Command& run)
{
    auto* kext =
        app.add_subcommand("kext", "load, unload or look at the kext itself (" + kernel_link_description() + ")");
    kext->require_subcommand(1);
    auto path = std::make_shared<std::string>(KEXTCONF_DEFAULT_KEXT_BUNDLE);
    auto* load = add_command(*kext, run, "load",
                             "load the kext bundle (kmutil load -p on macOS; the first load needs the user's approval "
                             "and a restart, see docs/operations.md); root only",
                             [&o, path] { return cmd_load(o, *path); });
    load->add_option("PATH", *path, "the .kext bundle")->capture_default_str();
    add_command(*kext, run, "unload",
                "unload the kext named by --kext (kmutil unload -b on macOS: a kext in use stays loaded until "
                "restart); root only",
                [&o] { return cmd_unload(o); });
    add_command(*kext, run, "status", "is the kext loaded, and which version answers",
                [&o] { return cmd_kext_status(o); });
}

} // namespace kextconf::ctl
