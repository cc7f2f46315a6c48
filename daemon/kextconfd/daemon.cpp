#include "daemon.hpp"

#include <kextconf/admin_protocol.hpp>
#include <kextconf/logging.hpp>
#include <kextconf/schema.hpp>
#include <kextconf/values.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <unistd.h>

namespace asio = boost::asio;

namespace kextconf {

Daemon::Daemon(asio::io_context& io, DaemonOptions opts)
    : io_(io), opts_(std::move(opts)), state_(opts_.state_dir),
      source_(opts_.config_path, opts_.managed_prefs_dir, state_), watch_(io, opts_.reload_debounce),
      managed_watch_(io, opts_.reload_debounce), managed_dir_watch_(io, opts_.reload_debounce)
{
}

ApplyReport Daemon::apply_current(const char* why)
{
    LoadedConfig* candidate = source_.candidate();
    LoadedConfig* in_force = source_.in_force();
    if (!candidate && !in_force) {
        ApplyReport none;
        none.failure = "there is no configuration to apply";
        return none;
    }
    if (!candidate) {
        ApplyReport report = apply_to_kext(*in_force, why);
        if (report.outcome == ApplyReport::Outcome::Applied)
            source_.save_in_force();
        else if (report.outcome == ApplyReport::Outcome::Rejected)
            source_.note_refused(*in_force, report.errors);
        return report;
    }
    ApplyReport report = apply_to_kext(*candidate, why);
    switch (report.outcome) {
    case ApplyReport::Outcome::Applied: source_.accept_candidate(); break;
    case ApplyReport::Outcome::Absent:
    case ApplyReport::Outcome::Failed: break; // the candidate is tried again next time
    case ApplyReport::Outcome::Rejected:
        source_.refuse_candidate(report.errors);
        // Only the profile did not fit: the file's values go on without it.
        if (LoadedConfig* without_profile = source_.candidate()) {
            if (apply_to_kext(*without_profile, why).outcome == ApplyReport::Outcome::Applied)
                source_.accept_candidate();
            break;
        }
        // Re-assert the configuration in force; the report stays the refusal's.
        if (in_force && apply_to_kext(*in_force, why).outcome == ApplyReport::Outcome::Applied)
            source_.save_in_force();
        break;
    }
    return report;
}

void Daemon::follow_kext_events(const std::string& bundle)
{
    // Follow the kext's events from its first appearance: its "started"
    // event is what retries an apply that found it busy.
    if (vendor_code_ == 0 && !kext_events_->vendor_code(bundle, vendor_code_))
        if (auto ec = kext_events_->set_filter(vendor_code_, KC_EVENT_CLASS, 0))
            logcat::events().warn("cannot subscribe to {} events: {}", bundle, ec.message());
}

std::unique_ptr<KextClient> Daemon::connect_for_apply(const std::string& bundle, ApplyReport& report)
{
    follow_kext_events(bundle);
    KextError err;
    auto kext = KextClient::connect(bundle, KextClient::Access::Admin, err);
    if (kext) {
        presence_ = KextPresence::Present;
        follow_kext_events(bundle);
        return kext;
    }
    if (err.ec == std::errc::device_or_resource_busy) {
        // Registered but still starting (or already stopping).
        logcat::kext().info("kext {} is busy starting or stopping; applying when it has started", bundle);
        report.outcome = ApplyReport::Outcome::Absent;
    } else if (err.ec == std::errc::no_such_file_or_directory) {
        // Said once per absence: every control registering wakes us, and
        // each look finds it still missing.
        if (presence_ != KextPresence::Absent)
            logcat::kext().info("kext {} is not loaded; waiting for it to register its control", bundle);
        presence_ = KextPresence::Absent;
        report.outcome = ApplyReport::Outcome::Absent;
    } else {
        logcat::kext().error("{}", err.message);
        report.failure = err.message;
    }
    return nullptr;
}

ApplyReport Daemon::apply_to_kext(LoadedConfig& config, const char* why)
{
    ApplyReport report;
    auto kext = connect_for_apply(config.kext(), report);
    if (kext)
        report = applier_.apply(*kext, config, source_.in_force(), why);
    // The kext's table, for `kextconfd --check` while the kext is away
    // (schema.hpp) and for the next start (schema_cache.hpp); saved after the
    // apply was reported, and only when it was described rather than found.
    if (report.new_load && session_.save_described_schema())
        state_.save_schema(schema_to_json(session_.schema()).dump(2) + "\n");
    if (report.outcome == ApplyReport::Outcome::Rejected || report.outcome == ApplyReport::Outcome::Failed)
        ++counters_.apply_failures;
    if (report.outcome == ApplyReport::Outcome::Applied)
        reported_drift_.clear();
    if (report.committed) {
        ++counters_.applies;
        last_apply_ =
            LastApply{report.generation, report.config_hash, std::chrono::system_clock::now(), report.changed};
    }
    return report;
}

admin::ReloadReply Daemon::reload(bool forced)
{
    admin::ReloadReply r;
    std::vector<Diagnostic> errors;
    // A forced reload reads the profile too; its change and the file's are applied together.
    bool profile_changed = false;
    if (forced && !source_.managed_path().empty())
        switch (source_.reread_managed(/*forced=*/true, errors)) {
        case ConfigSource::Change::Bad:
            for (const auto& d : errors)
                r.errors.push_back(d.str());
            errors.clear();
            break;
        case ConfigSource::Change::Candidate:
        case ConfigSource::Change::Missing: profile_changed = true; break;
        case ConfigSource::Change::Unchanged: break;
        }
    switch (source_.reread(forced, errors)) {
    case ConfigSource::Change::Unchanged:
        if (profile_changed)
            break;
        r.ok = true;
        return r;
    case ConfigSource::Change::Missing:
        r.error = opts_.config_path + " does not exist; the configuration in force stays applied";
        return r;
    case ConfigSource::Change::Bad:
        ++counters_.reloads;
        for (const auto& d : errors)
            r.errors.push_back(d.str());
        r.error = opts_.config_path + ": reload refused; the last good configuration stays applied";
        return r;
    case ConfigSource::Change::Candidate: break;
    }
    ++counters_.reloads;
    if (!forced && accept_without_kext()) {
        r.ok = r.applied = true;
        return r;
    }
    return apply_reload(std::move(r));
}

bool Daemon::accept_without_kext()
{
    // Every event already posted is read first: one saying the kext changed
    // (or stopped) means it must be asked.
    if (!handle_waiting_events(*ctl_events_, false) || !handle_waiting_events(*kext_events_, true))
        return false;
    LoadedConfig* candidate = source_.candidate();
    const std::vector<proto::Value>* held = session_.values_held();
    if (!candidate || !held || presence_ != KextPresence::Present || candidate->kext() != session_.bundle())
        return false;
    const FittedValues& fitted = fit(*candidate, session_);
    if (!fitted.fits() || fitted.values != *held)
        return false; // a refusal is reported by the kext path, with the kext's version
    logcat::kext().info("{} already holds the values of {} (hash {}); nothing sent", session_.bundle(),
                        candidate->label(), format_config_hash(proto::config_hash(fitted.values)));
    source_.accept_candidate();
    return true;
}

void Daemon::watch_managed()
{
    const std::string dir = std::filesystem::path(source_.managed_path()).parent_path().string();
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
        watching_profile_ = managed_watch_.start(source_.managed_path(), [this] { reload_profile(); });
        return;
    }
    logcat::daemon().info("managed preferences: {} does not exist yet; watching for it", dir);
    // The watch is on the directory's parent, so it also wakes for the
    // parent's other entries (on macOS kqueue names none): only a directory
    // that now exists moves the watch to the profile.
    managed_dir_watch_.start(dir, [this, dir] {
        std::error_code e;
        if (watching_profile_ || !std::filesystem::is_directory(dir, e))
            return;
        logcat::daemon().info("managed preferences: {} appeared; watching {}", dir, source_.managed_path());
        watching_profile_ = managed_watch_.start(source_.managed_path(), [this] { reload_profile(); });
        reload_profile();
    });
}

void Daemon::reload_profile()
{
    std::vector<Diagnostic> errors;
    switch (source_.reread_managed(/*forced=*/false, errors)) {
    case ConfigSource::Change::Unchanged:
    case ConfigSource::Change::Bad: return; // logged; the configuration in force stays
    case ConfigSource::Change::Missing:
    case ConfigSource::Change::Candidate: break;
    }
    ++counters_.reloads;
    if (!accept_without_kext())
        apply_current("managed preferences changed");
}

admin::ReloadReply Daemon::apply_reload(admin::ReloadReply r)
{
    const ApplyReport report = apply_current("reload");
    switch (report.outcome) {
    case ApplyReport::Outcome::Applied:
        r.ok = r.applied = true;
        r.changed = report.changed_names;
        break;
    case ApplyReport::Outcome::Absent: r.ok = true; break; // applied when the kext loads
    case ApplyReport::Outcome::Rejected:
        for (const auto& d : report.errors)
            r.errors.push_back(d.str());
        r.error = opts_.config_path + " does not fit the kext's schema; the last good configuration stays applied";
        break;
    case ApplyReport::Outcome::Failed: r.error = report.failure; break;
    }
    return r;
}

void Daemon::on_ctl_event(const KernEvent& e)
{
    if (e.vendor != kKevVendorApple || e.kev_class != kKevSystemClass || e.subclass != kKevCtlSubclass)
        return;
    if (e.code == kKevCtlRegistered && presence_ != KextPresence::Present)
        apply_current("kernel control registered");
    else if (e.code == kKevCtlDeregistered && presence_ == KextPresence::Present && !source_.bundle().empty()) {
        const std::string bundle = source_.bundle();
        KextError err;
        if (!KextClient::connect(bundle, KextClient::Access::Query, err) &&
            err.ec == std::errc::no_such_file_or_directory) {
            logcat::events().info("kext {} went away; waiting for it to come back", bundle);
            presence_ = KextPresence::Absent;
        }
    }
}

void Daemon::on_kext_event(const KernEvent& e)
{
    auto ev = proto::decode_event(e.code, e.data);
    if (!ev) {
        logcat::events().warn("malformed kext event code {} ({} bytes)", e.code, e.data.size());
        return;
    }
    ++counters_.events;
    logcat::events().debug("kext event {} (load {}, sequence {})", proto::event_name(ev->code), ev->hdr.load_id,
                           ev->hdr.seq);
    const std::uint32_t last_seq = session_.last_seq();
    std::uint32_t lost = 0;
    const KextSession::Sequence seq = session_.note_event(ev->hdr.load_id, ev->hdr.seq, lost);
    const bool same_load = seq != KextSession::Sequence::OtherLoad;
    if (seq == KextSession::Sequence::Old)
        logcat::events().debug("kext event sequence {} arrived after {}: an old event", ev->hdr.seq, last_seq);
    if (seq == KextSession::Sequence::Gap || seq == KextSession::Sequence::OtherLoad)
        session_.note_changed_elsewhere(); // events were lost, or another load is there
    if (seq == KextSession::Sequence::Gap) {
        ++counters_.seq_gaps;
        logcat::events().warn("kext event sequence jumped from {} to {}: {} events were lost; re-reading state",
                              last_seq, ev->hdr.seq, lost);
    }
    switch (ev->code) {
    case KC_EV_STARTED:
        logcat::events().info("kext started (version {}, generation {})", ev->kext_version, ev->generation);
        // KEV_CTL_REGISTERED usually gets there first; no second connection
        // to a load already applied to (it would hold off an unload).
        if (!(same_load && presence_ == KextPresence::Present))
            apply_current("kext started");
        break;
    case KC_EV_STOPPING:
        if (presence_ != KextPresence::Absent)
            logcat::events().info("kext stopping (generation {}); waiting for it to come back", ev->generation);
        presence_ = KextPresence::Absent;
        session_.note_changed_elsewhere();
        break;
    case KC_EV_APPLIED:
    case KC_EV_TUNABLE_CHANGED:
        // Not our commit: another writer changed the kext. (One older than
        // the state this daemon verified since is already accounted for.)
        if (same_load && ev->generation > session_.last_generation())
            session_.note_changed_elsewhere();
        if (same_load && ev->generation != session_.last_generation())
            schedule_reread("another writer committed");
        break;
    case KC_EV_OVERFLOW:
        session_.note_changed_elsewhere();
        logcat::events().warn("the kext lost {} events ({} in all); re-reading state", ev->overflow.lost,
                              ev->overflow.lost_total);
        schedule_reread("events lost");
        break;
    default: break;
    }
    if (seq == KextSession::Sequence::Gap)
        schedule_reread("event gap");
}

asio::awaitable<void> Daemon::watch_signals(asio::signal_set& signals)
{
    for (;;) {
        boost::system::error_code ec;
        const int sig = co_await signals.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return;
        if (sig == SIGHUP) {
            logcat::daemon().info("SIGHUP: reloading {}", opts_.config_path);
            reload(/*forced=*/true);
            continue;
        }
        logcat::daemon().info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        io_.stop();
        co_return;
    }
}

asio::awaitable<void> Daemon::watch_events(EventSocket& sock, asio::posix::stream_descriptor& fd, bool kext_events)
{
    for (;;) {
        boost::system::error_code ec;
        co_await fd.async_wait(asio::posix::stream_descriptor::wait_read,
                               asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return;
        if (!handle_waiting_events(sock, kext_events))
            co_return;
    }
}

bool Daemon::handle_waiting_events(EventSocket& sock, bool kext_events)
{
    std::error_code rec;
    while (auto e = sock.read(rec))
        kext_events ? on_kext_event(*e) : on_ctl_event(*e);
    if (!rec)
        return true;
    logcat::events().error("kernel event socket failed: {}; stopping", rec.message());
    exit_status_ = kExitCannotStart;
    io_.stop();
    return false;
}

bool Daemon::open_event_sockets()
{
    std::error_code ec;
    ctl_events_ = EventSocket::open(ec);
    if (ctl_events_)
        kext_events_ = EventSocket::open(ec);
    if (!kext_events_) {
        logcat::daemon().error("cannot open a kernel event socket on {}: {}", kernel_link_description(), ec.message());
        return false;
    }
    if (auto e = ctl_events_->set_filter(kKevVendorApple, kKevSystemClass, kKevCtlSubclass)) {
        logcat::daemon().error("cannot subscribe to kernel control events: {}", e.message());
        return false;
    }
    ctl_events_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(ctl_events_->native_handle()));
    kext_events_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(kext_events_->native_handle()));
    return true;
}

int Daemon::run()
{
    // Installed first, so a SIGTERM during start-up is a clean stop too.
    asio::signal_set signals(io_, SIGTERM, SIGINT, SIGHUP);
    if (!open_event_sockets())
        return kExitCannotStart;
    admin_ = std::make_unique<AdminServer>(
        io_, opts_.admin_socket.empty() ? admin::default_socket_path() : opts_.admin_socket, opts_.admin_group);
    if (!admin_->open())
        return kExitCannotStart;
    admin_->add_command("status", [this](const nlohmann::json&) { return nlohmann::json(status()); });
    admin_->add_command("reload", [this](const nlohmann::json&) {
        logcat::daemon().info("admin socket: reloading {}", opts_.config_path);
        return nlohmann::json(reload(/*forced=*/true));
    });
    admin_->add_command(
        "set", [this](const nlohmann::json& req) { return nlohmann::json(set(req.get<admin::ChangeRequest>())); });
    admin_->add_command("persist", [this](const nlohmann::json& req) {
        return nlohmann::json(persist(req.get<admin::ChangeRequest>()));
    });

    logcat::daemon().info(
        "kextconfd starting: config {}{}, state {}, admin socket {} ({}), via {}", opts_.config_path,
        opts_.managed_prefs_dir.empty() ? "" : ", managed preferences " + source_.managed_path(), opts_.state_dir,
        opts_.admin_socket.empty() ? admin::default_socket_path() : opts_.admin_socket,
        opts_.admin_group.empty() ? "root only" : "root and group " + opts_.admin_group, kernel_link_description());
    if (state_.open()) {
        schema_cache_ = SchemaCache(opts_.state_dir);
        session_.use_cache(&schema_cache_);
    }
    source_.load_at_startup();
    watch_.start(opts_.config_path, [this] { reload(/*forced=*/false); });
    if (!source_.managed_path().empty())
        watch_managed();
    apply_current("startup");

    admin_->start();
    asio::co_spawn(io_, watch_signals(signals), asio::detached);
    asio::co_spawn(io_, watch_events(*ctl_events_, *ctl_events_fd_, false), asio::detached);
    asio::co_spawn(io_, watch_events(*kext_events_, *kext_events_fd_, true), asio::detached);
    io_.run();
    return exit_status_;
}

} // namespace kextconf
