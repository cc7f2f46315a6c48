#include "common.hpp"

#include <kextconf/admin_protocol.hpp>

#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

// How long kextconfctl waits for kextconfd. A reload answers after the apply,
// which is a few round trips to the kext; 30 s covers a stalled kext too.
constexpr std::chrono::seconds kDaemonTimeout{30};

std::string g_command_line = "kextconfctl";

bool is(std::error_code ec, std::errc e)
{
    return ec == std::make_error_condition(e);
}

} // namespace

void remember_command_line(int argc, char** argv)
{
    g_command_line = "kextconfctl";
    for (int i = 1; i < argc; ++i)
        g_command_line += std::string(" ") + argv[i];
}

std::string run_as_root_hint()
{
    return "run as root (sudo " + g_command_line + ")";
}

bool is_root()
{
    return ::geteuid() == 0;
}

int fail(const Options& o, int status, const std::string& message, json extra)
{
    if (o.json) {
        extra["error"] = message;
        extra["exit_status"] = status;
        std::cout << extra.dump(2) << '\n';
    } else {
        std::fprintf(stderr, "kextconfctl: %s\n", message.c_str());
    }
    return status;
}

int exit_status_for(const KextError& e)
{
    if (is(e.ec, std::errc::no_such_file_or_directory))
        return kExitNotLoaded;
    if (is(e.ec, std::errc::operation_not_permitted) || is(e.ec, std::errc::permission_denied))
        return kExitNotRoot;
    return kExitFailure;
}

int fail(const Options& o, const KextError& e)
{
    const int status = exit_status_for(e);
    std::string msg = e.message;
    if (status == kExitNotLoaded)
        msg = "the kext is not loaded: kextconfctl kext load (" + e.message + ")";
    else if (status == kExitNotRoot)
        msg = e.message + "; " + run_as_root_hint();
    return fail(o, status, msg, {{"loaded", status != kExitNotLoaded}});
}

std::unique_ptr<KextClient> open_query(const Options& o, KextError& err)
{
    return KextClient::connect(o.kext, KextClient::Access::Query, err);
}

std::unique_ptr<KextClient> open_described(const Options& o, std::vector<proto::TunableDesc>& schema, int& status)
{
    KextError err;
    auto kext = open_query(o, err);
    if (kext)
        err = kext->describe(schema);
    if (err) {
        status = fail(o, err);
        return nullptr;
    }
    return kext;
}

std::unique_ptr<KextClient> open_admin(const Options& o, KextError& err)
{
    if (!is_root()) {
        err = {std::make_error_code(std::errc::operation_not_permitted),
               "changing the kext's state needs the privileged control " + o.kext};
        return nullptr;
    }
    return KextClient::connect(o.kext, KextClient::Access::Admin, err);
}

std::string daemon_socket_path(const Options& o)
{
    return o.daemon_socket.empty() ? admin::default_socket_path() : o.daemon_socket;
}

json daemon_request(const Options& o, const std::string& cmd, std::error_code& ec)
{
    return admin::request(daemon_socket_path(o), {{"v", admin::kVersion}, {"cmd", cmd}},
                          std::chrono::duration_cast<std::chrono::milliseconds>(kDaemonTimeout), ec);
}

std::string daemon_config_path(const Options& o, std::error_code& ec)
{
    const json reply = daemon_request(o, "status", ec);
    if (ec)
        return "";
    const json* path = reply.contains("config") ? &reply.at("config") : nullptr;
    if (path == nullptr || !path->contains("path") || !path->at("path").is_string()) {
        ec = std::make_error_code(std::errc::protocol_error);
        return "";
    }
    return path->at("path").get<std::string>();
}

int config_file_to_use(const Options& o, const std::string& given, const std::string& what, const std::string& flag,
                       std::string& path)
{
    path = given;
    if (!path.empty())
        return kExitOk;
    std::error_code ec;
    path = daemon_config_path(o, ec);
    if (ec)
        return fail(o, daemon_exit_status(ec),
                    what + " the file kextconfd uses, and kextconfd could not be asked which: " +
                        describe_daemon_error(o, ec) + "; or name the file with " + flag + " FILE");
    if (!path.starts_with('/'))
        return fail(o, kExitFailure,
                    "kextconfd names its file \"" + path + "\", relative to its own directory; name it with " + flag);
    return kExitOk;
}

int daemon_exit_status(std::error_code ec)
{
    if (is(ec, std::errc::no_such_file_or_directory) || is(ec, std::errc::connection_refused))
        return kExitNoDaemon;
    if (is(ec, std::errc::permission_denied) || is(ec, std::errc::operation_not_permitted))
        return kExitNotRoot;
    return kExitFailure;
}

std::string describe_daemon_error(const Options& o, std::error_code ec)
{
    const std::string path = daemon_socket_path(o);
    if (is(ec, std::errc::no_such_file_or_directory) || is(ec, std::errc::connection_refused))
        return "kextconfd is not running (no one listens on " + path + "; start it: " KEXTCONF_START_DAEMON_HINT ")";
    if (is(ec, std::errc::permission_denied) || is(ec, std::errc::operation_not_permitted))
        return "kextconfd answers root only: " + run_as_root_hint();
    if (is(ec, std::errc::timed_out))
        return "kextconfd did not answer on " + path + " within " + std::to_string(kDaemonTimeout.count()) +
               " s (see its log: docs/operations.md)";
    if (is(ec, std::errc::protocol_error))
        return "kextconfd answered on " + path + " with something that is not its protocol (a version mismatch?)";
    return "cannot reach kextconfd on " + path + ": " + ec.message();
}

} // namespace kextconf::ctl
