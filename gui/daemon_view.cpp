#include "daemon_view.hpp"

#include <kextconf/admin_protocol.hpp>

namespace kextconf::gui {

using nlohmann::json;

namespace {

bool is(std::error_code ec, std::errc e)
{
    return ec == std::make_error_code(e);
}

std::string reach_error(const std::string& path, std::error_code ec)
{
    if (is(ec, std::errc::no_such_file_or_directory) || is(ec, std::errc::connection_refused))
        return "kextconfd is not running (no one listens on " + path + ")";
    if (is(ec, std::errc::permission_denied) || is(ec, std::errc::operation_not_permitted))
        return "kextconfd does not answer you: its socket " + path +
               " is open only to root and the members of its admin group (kextconfd --admin-group)";
    if (is(ec, std::errc::timed_out))
        return "kextconfd did not answer on " + path + " within " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kDaemonTimeout).count()) + " s";
    if (is(ec, std::errc::protocol_error))
        return "kextconfd answered on " + path + " with something that is not its protocol (a version mismatch?)";
    return "cannot reach kextconfd on " + path + ": " + ec.message();
}

std::string text(const json& j, const char* key, const std::string& dflt = "?")
{
    if (!j.is_object() || !j.contains(key) || j.at(key).is_null())
        return dflt;
    const auto& v = j.at(key);
    return v.is_string() ? v.get<std::string>() : v.dump();
}

} // namespace

DaemonReply ask_daemon(const std::string& path, const std::string& cmd, const json& extra)
{
    DaemonReply r;
    json req = extra;
    req["v"] = admin::kVersion;
    req["cmd"] = cmd;
    std::error_code ec;
    r.body = admin::request(path, req, kDaemonTimeout, ec);
    if (ec) {
        r.denied = is(ec, std::errc::permission_denied) || is(ec, std::errc::operation_not_permitted);
        r.error = reach_error(path, ec);
        return r;
    }
    r.reached = true;
    r.ok = r.body.value("ok", false);
    r.denied = r.body.value("denied", false);
    if (!r.ok)
        r.error = text(r.body, "error", "kextconfd refused without a reason");
    for (const auto& e : r.body.value("errors", json::array()))
        r.errors.push_back(e.is_string() ? e.get<std::string>() : e.dump());
    return r;
}

DaemonSummary summarize_status(const admin::StatusReply& s)
{
    DaemonSummary out;
    out.running = "running, pid " + std::to_string(s.daemon.pid) + ", version " + s.daemon.version + ", up " +
                  std::to_string(s.daemon.uptime_s) + " s";
    out.config = s.config.path + ": " + admin::to_string(s.config.state) + " (applying " +
                 admin::to_string(s.config.source) + ")";
    out.last_apply = s.applied ? "generation " + std::to_string(s.applied->generation) + ", " +
                                     std::to_string(s.applied->changed) + " changed, at " + s.applied->at
                               : "none yet";
    if (s.drift.empty())
        out.drift = s.drift_state == admin::DriftState::InSync
                        ? "none: the kext holds what the file says"
                        : std::string("none known: ") + admin::to_string(s.drift_state);
    for (const auto& x : s.drift)
        out.drift += (out.drift.empty() ? "" : "; ") + x.name + " is " + x.kext.dump() + " in the kext, " +
                     x.file.dump() + " in the file";
    for (const auto& e : s.config.errors)
        out.last_error += (out.last_error.empty() ? "" : "\n") + e;
    if (out.last_error.empty())
        out.last_error = s.kext.error;
    return out;
}

} // namespace kextconf::gui
