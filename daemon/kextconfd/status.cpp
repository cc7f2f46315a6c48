// Daemon: noticing drift (the kext changed behind the daemon's back) and
// answering the admin socket's status and reload. See daemon.hpp.
//
// Drift rule: the daemon re-reads the kext's state when its events show a
// commit it did not make, a gap in their sequence numbers, or lost events.
// Drift is reported (a warning naming each tunable, and status "drift") but
// not undone at once, so an administrator's `kextconfctl set` while
// debugging is not fought; the file's values return at the next reload
// (edit, SIGHUP, `kextconfctl reload`) or kext load.
#include "daemon.hpp"

#include <kextconf/logging.hpp>
#include <kextconf/values.hpp>

#include <boost/asio/post.hpp>

#include <ctime>
#include <unistd.h>

namespace kextconf {

namespace {

using nlohmann::json;

std::string hex(std::uint64_t v)
{
    char buf[19];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string iso8601(std::chrono::system_clock::time_point t)
{
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace

void Daemon::schedule_reread(const char* why)
{
    if (reread_pending_)
        return;
    reread_pending_ = true;
    // After the events already read: one re-read for a burst of them.
    boost::asio::post(io_, [this, why] {
        reread_pending_ = false;
        check_drift(why);
    });
}

std::optional<std::vector<Daemon::Drift>> Daemon::compute_drift(KextClient& kext)
{
    std::vector<proto::TunableDesc> schema;
    if (kext.describe(schema))
        return std::nullopt;
    std::vector<Diagnostic> errors;
    const auto validated = validate_config(config_->doc, schema, errors);
    if (!validated)
        return std::nullopt;
    const std::vector<proto::Value> desired = desired_values(schema, validated->values);
    std::vector<Drift> out;
    for (std::size_t i = 0; i < schema.size(); ++i) {
        // A load-only tunable that differs is pending the next load, not drift.
        if (schema[i].flags & KC_TF_LOAD_ONLY)
            continue;
        proto::Value current;
        if (kext.get(schema[i], current))
            return std::nullopt;
        if (!(current == desired[i]))
            out.push_back({schema[i].name, value_to_json(schema[i], desired[i]), value_to_json(schema[i], current)});
    }
    return out;
}

void Daemon::check_drift(const char* why)
{
    if (!config_)
        return;
    ++counters_.rereads;
    KextError err;
    auto kext = KextClient::connect(config_->doc.kext, KextClient::Access::Admin, err);
    kc_state st{};
    if (!kext || kext->state(st))
        return; // gone: KEV_CTL_REGISTERED brings it back
    if (st.load_id != load_id_) {
        // A load the daemon has not applied to (its start was among the lost events).
        apply_current("new kext load found on re-read");
        return;
    }
    const auto drift = compute_drift(*kext);
    if (!drift)
        return;
    std::string detail;
    for (const auto& d : *drift) {
        detail += (detail.empty() ? "" : ", ") + d.name + " = " +
                  private_value(d.kext.dump(-1, ' ', false, json::error_handler_t::replace)) +
                  " (file: " + private_value(d.file.dump(-1, ' ', false, json::error_handler_t::replace)) + ")";
    }
    if (detail.empty()) {
        if (!reported_drift_.empty())
            logcat::kext().info("{} matches {} again (generation {}; {})", config_->doc.kext, config_->doc.file,
                                st.generation, why);
        reported_drift_.clear();
        return;
    }
    if (detail == reported_drift_)
        return;
    reported_drift_ = detail;
    logcat::kext().warn("{} drifted from {} ({}; generation {}): {}; the file's values return at the next reload "
                        "(edit, SIGHUP, kextconfctl reload) or kext load",
                        config_->doc.kext, config_->doc.file, why, st.generation, detail);
}

json Daemon::status_json()
{
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    const char* state = file_load_.state == FileState::Good  ? "good"
                        : file_load_.state == FileState::Bad ? "bad"
                                                             : "missing";
    const char* source = !config_ ? "none" : config_->source == Source::SavedCopy ? "saved-copy" : "file";
    json config = {{"path", opts_.config_path},
                   {"state", state},
                   {"source", source},
                   {"errors", file_load_.errors},
                   {"loaded_at", file_load_.at == std::chrono::system_clock::time_point{}
                                     ? json(nullptr)
                                     : json(iso8601(file_load_.at))}};

    const std::string bundle = config_ ? config_->doc.kext : candidate_ ? candidate_->doc.kext : "";
    json kext = {{"bundle_id", bundle.empty() ? json(nullptr) : json(bundle)}, {"loaded", false}};
    json drift = json::array();
    if (!bundle.empty()) {
        KextError err;
        auto client = KextClient::connect(bundle, KextClient::Access::Admin, err);
        kc_state st{};
        if (client && !client->state(st)) {
            kext.update({{"loaded", true},
                         {"version", proto::field_string(client->hello().kext_version)},
                         {"load_id", st.load_id},
                         {"generation", st.generation},
                         {"config_hash", hex(st.config_hash)},
                         {"event_seq", st.event_seq}});
            // Drift only means something against the load the daemon applied to.
            if (config_ && st.load_id == load_id_)
                if (auto d = compute_drift(*client))
                    for (const auto& e : *d)
                        drift.push_back({{"name", e.name}, {"file", e.file}, {"kext", e.kext}});
        } else if (client || err.ec != std::errc::no_such_file_or_directory) {
            kext["error"] = err.message.empty() ? "cannot read the kext's state" : err.message;
        }
    }
    json applied = nullptr;
    if (last_apply_)
        applied = {{"generation", last_apply_->generation},
                   {"config_hash", hex(last_apply_->config_hash)},
                   {"at", iso8601(last_apply_->at)},
                   {"changed", last_apply_->changed}};
    return {{"ok", true},
            {"daemon",
             {{"pid", ::getpid()},
              {"version", KEXTCONF_VERSION},
              {"uptime_s", duration_cast<seconds>(std::chrono::steady_clock::now() - started_).count()}}},
            {"config", std::move(config)},
            {"kext", std::move(kext)},
            {"applied", std::move(applied)},
            {"drift", std::move(drift)},
            {"counters",
             {{"applies", counters_.applies},
              {"apply_failures", counters_.apply_failures},
              {"reloads", counters_.reloads},
              {"events", counters_.events},
              {"seq_gaps", counters_.seq_gaps},
              {"rereads", counters_.rereads}}}};
}

json Daemon::reload_json()
{
    logcat::daemon().info("admin socket: reloading {}", opts_.config_path);
    const ReloadResult r = reload(/*forced=*/true);
    json out = {{"ok", r.ok}, {"applied", r.applied}, {"changed", r.changed}, {"errors", r.errors}};
    if (!r.error.empty())
        out["error"] = r.error;
    return out;
}

} // namespace kextconf
