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

#include <algorithm>
#include <ctime>
#include <unistd.h>

namespace kextconf {

namespace {

using nlohmann::json;

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

admin::DriftState Daemon::compute_drift(KextClient& kext, const kc_state& st, std::vector<admin::DriftEntry>& out)
{
    // Drift only means something against the load the daemon applied to.
    LoadedConfig* config = source_.in_force();
    if (!config || !session_.follows(kext.bundle_id(), st.load_id) || !session_.applied())
        return admin::DriftState::NotApplied;
    const FittedValues& fitted = fit(*config, session_);
    if (!fitted.fits())
        return admin::DriftState::NotApplied;
    const auto& schema = session_.tunables();
    for (std::size_t i = 0; i < schema.size(); ++i) {
        // A load-only tunable that differs is pending the next load, not drift.
        if (schema[i].flags & KC_TF_LOAD_ONLY)
            continue;
        proto::Value current;
        if (kext.get(schema[i], current))
            return admin::DriftState::Unknown;
        if (!(current == fitted.values[i]))
            out.push_back(
                {schema[i].name, value_to_json(schema[i], fitted.values[i]), value_to_json(schema[i], current)});
    }
    return out.empty() ? admin::DriftState::InSync : admin::DriftState::Drifted;
}

void Daemon::check_drift(const char* why)
{
    const LoadedConfig* config = source_.in_force();
    if (!config)
        return;
    ++counters_.rereads;
    KextError err;
    auto kext = KextClient::connect(config->kext(), KextClient::Access::Admin, err);
    kc_state st{};
    if (!kext || kext->state(st))
        return; // gone: KEV_CTL_REGISTERED brings it back
    if (!session_.follows(st.load_id)) {
        // A load the daemon has not applied to (its start was among the lost events).
        apply_current("new kext load found on re-read");
        return;
    }
    std::vector<admin::DriftEntry> drift;
    if (compute_drift(*kext, st, drift) == admin::DriftState::Unknown)
        return;
    std::string detail;
    for (const auto& d : drift)
        detail += (detail.empty() ? "" : ", ") + d.name + " = " +
                  private_value(d.kext.dump(-1, ' ', false, json::error_handler_t::replace)) +
                  " (file: " + private_value(d.file.dump(-1, ' ', false, json::error_handler_t::replace)) + ")";
    if (detail.empty()) {
        if (!reported_drift_.empty())
            logcat::kext().info("{} matches {} again (generation {}; {})", config->kext(), config->label(),
                                st.generation, why);
        reported_drift_.clear();
        return;
    }
    if (detail == reported_drift_)
        return;
    reported_drift_ = detail;
    logcat::kext().warn("{} drifted from {} ({}; generation {}): {}; the file's values return at the next reload "
                        "(edit, SIGHUP, kextconfctl reload) or kext load",
                        config->kext(), config->label(), why, st.generation, detail);
}

admin::KextInfo Daemon::kext_status(std::vector<admin::DriftEntry>& drift, admin::DriftState& drift_state)
{
    admin::KextInfo k;
    k.bundle_id = source_.bundle();
    drift_state = admin::DriftState::NotApplied;
    if (k.bundle_id.empty()) // no configuration names a kext yet
        return k;
    drift_state = admin::DriftState::KextNotLoaded;
    KextError err;
    auto client = KextClient::connect(k.bundle_id, KextClient::Access::Admin, err);
    kc_state st{};
    if (client && !client->state(st)) {
        k.loaded = true;
        k.version = proto::field_string(client->hello().kext_version);
        k.load_id = st.load_id;
        k.generation = st.generation;
        k.config_hash = st.config_hash;
        k.event_seq = st.event_seq;
        drift_state = compute_drift(*client, st, drift);
    } else if (client || err.ec != std::errc::no_such_file_or_directory) {
        k.error = err.message.empty() ? "cannot read the kext's state" : err.message;
        drift_state = admin::DriftState::Unknown;
    }
    return k;
}

std::optional<admin::ManagedInfo> Daemon::managed_status() const
{
    if (source_.managed_path().empty())
        return std::nullopt;
    const auto& load = source_.profile_load();
    const auto at = [](std::chrono::system_clock::time_point t) {
        return t == std::chrono::system_clock::time_point{} ? std::string() : iso8601(t);
    };
    admin::ManagedInfo m{
        kManagedDomain, source_.managed_path(), load.state, load.errors, at(load.changed), at(load.at), {}};
    // What `set` refuses: the latest good profile, applied or waiting for the kext.
    if (const ManagedPrefs* managed = source_.managed())
        for (const auto& [name, value] : managed->tunables.items())
            m.tunables.push_back(name);
    return m;
}

std::vector<std::pair<std::string, admin::ValueSource>> Daemon::value_sources(const admin::StatusReply& r)
{
    std::vector<std::pair<std::string, admin::ValueSource>> out;
    LoadedConfig* config = source_.in_force();
    if (!config || !r.kext.loaded || !session_.follows(r.kext.bundle_id, r.kext.load_id) || !session_.applied())
        return out;
    const FittedValues& fitted = fit(*config, session_);
    if (!fitted.fits())
        return out;
    const auto& schema = session_.tunables();
    for (std::size_t i = 0; i < schema.size(); ++i) {
        const bool drifted = std::any_of(r.drift.begin(), r.drift.end(),
                                         [&](const admin::DriftEntry& d) { return d.name == schema[i].name; });
        out.emplace_back(schema[i].name, drifted ? admin::ValueSource::Transient : fitted.sources[i]);
    }
    return out;
}

admin::StatusReply Daemon::status()
{
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    admin::StatusReply r;
    r.daemon = {::getpid(), KEXTCONF_VERSION,
                duration_cast<seconds>(std::chrono::steady_clock::now() - started_).count()};
    const auto& load = source_.file_load();
    const LoadedConfig* in_force = source_.in_force();
    r.config = {opts_.config_path, load.state,
                !in_force                                     ? admin::Applying::Nothing
                : in_force->origin == ConfigOrigin::SavedCopy ? admin::Applying::SavedCopy
                                                              : admin::Applying::File,
                load.errors, load.at == std::chrono::system_clock::time_point{} ? "" : iso8601(load.at)};
    r.kext = kext_status(r.drift, r.drift_state);
    if (last_apply_)
        r.applied = admin::AppliedInfo{last_apply_->generation, last_apply_->config_hash, iso8601(last_apply_->at),
                                       last_apply_->changed};
    r.counters = counters_;
    r.managed = managed_status();
    r.sources = value_sources(r);
    return r;
}

} // namespace kextconf
