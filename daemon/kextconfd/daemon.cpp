#include "daemon.hpp"

#include "admin_protocol.hpp"
#include "apply_plan.hpp"
#include "logging.hpp"
#include "schema.hpp"
#include "values.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace asio = boost::asio;

namespace kextconf {

namespace {
// A stale generation means another writer committed between our read and our
// commit; re-read and retry a few times before giving up until the next event.
constexpr int kApplyAttempts = 3;

std::string hex(std::uint64_t v)
{
    char buf[19];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

void log_diagnostics(const std::vector<Diagnostic>& errors)
{
    for (const auto& d : errors)
        logcat::config().error("{}", d.str());
}
} // namespace

Daemon::Daemon(asio::io_context& io, DaemonOptions opts)
    : io_(io), opts_(std::move(opts)), state_(opts_.state_dir), watch_(io, opts_.reload_debounce)
{
}

Daemon::ApplyOutcome Daemon::apply_current(const char* why)
{
    if (candidate_) {
        const ApplyOutcome outcome = try_apply(candidate_->doc, why);
        switch (outcome) {
        case ApplyOutcome::Applied:
            config_ = std::move(candidate_);
            candidate_.reset();
            state_.save_last_good(config_->text);
            return outcome;
        case ApplyOutcome::Rejected:
            candidate_.reset();
            if (config_)
                logcat::config().error("{}: edit refused; keeping the last good configuration ({})", opts_.config_path,
                                       config_->doc.file);
            else
                logcat::config().error("{}: refused, and there is no last good configuration; the kext keeps its "
                                       "current values until the file is fixed",
                                       opts_.config_path);
            break; // re-assert the configuration in force below
        case ApplyOutcome::Absent:
        case ApplyOutcome::Failed: return outcome; // try the candidate again next time
        }
        if (config_) {
            // Keep the refusal's errors for the caller while re-asserting.
            auto errors = std::move(apply_errors_);
            if (try_apply(config_->doc, why) == ApplyOutcome::Applied)
                state_.save_last_good(config_->text);
            apply_errors_ = std::move(errors);
        }
        return ApplyOutcome::Rejected;
    }
    if (!config_)
        return ApplyOutcome::Failed;
    const ApplyOutcome outcome = try_apply(config_->doc, why);
    if (outcome == ApplyOutcome::Applied)
        state_.save_last_good(config_->text);
    return outcome;
}

std::optional<std::vector<proto::Value>> Daemon::known_values_by_hash(const std::vector<proto::TunableDesc>& schema,
                                                                      std::uint64_t config_hash) const
{
    // A kext just loaded holds its defaults; a kext this daemon (or its
    // previous run) configured holds the last good configuration. The
    // content hash says which, if either, without reading every value back.
    std::vector<proto::Value> defaults = desired_values(schema, {});
    if (proto::config_hash(defaults) == config_hash)
        return defaults;
    if (config_) {
        std::vector<Diagnostic> errors;
        auto validated = validate_config(config_->doc, schema, errors);
        if (validated && errors.empty()) {
            std::vector<proto::Value> last_good = desired_values(schema, validated->values);
            if (proto::config_hash(last_good) == config_hash)
                return last_good;
        }
    }
    return std::nullopt;
}

Daemon::ApplyOutcome Daemon::try_apply(const ConfigDocument& doc, const char* why)
{
    const std::string& bundle = doc.kext;
    apply_errors_.clear();
    apply_failure_.clear();
    auto failed = [this](std::string message) {
        logcat::kext().error("{}", message);
        apply_failure_ = std::move(message);
        ++counters_.apply_failures;
        return ApplyOutcome::Failed;
    };
    // Follow the kext's events from its first appearance: its "started"
    // event is what retries an apply that found it busy.
    if (vendor_code_ == 0 && !kext_events_->vendor_code(bundle, vendor_code_))
        if (auto ec = kext_events_->set_filter(vendor_code_, KC_EVENT_CLASS, 0))
            logcat::events().warn("cannot subscribe to {} events: {}", bundle, ec.message());
    KextError err;
    auto kext = KextClient::connect(bundle, KextClient::Access::Admin, err);
    if (!kext) {
        if (err.ec == std::errc::device_or_resource_busy) {
            // Registered but still starting (or already stopping).
            logcat::kext().info("kext {} is busy starting or stopping; applying when it has started", bundle);
            return ApplyOutcome::Absent;
        }
        if (err.ec == std::errc::no_such_file_or_directory) {
            // Said once per absence: every control registering wakes us, and
            // each look finds it still missing.
            if (kext_state_ != KextState::Absent)
                logcat::kext().info("kext {} is not loaded; waiting for it to register its control", bundle);
            kext_state_ = KextState::Absent;
            return ApplyOutcome::Absent;
        }
        return failed(err.message);
    }
    kext_state_ = KextState::Present;
    if (vendor_code_ == 0 && !kext_events_->vendor_code(bundle, vendor_code_))
        if (auto ec = kext_events_->set_filter(vendor_code_, KC_EVENT_CLASS, 0))
            logcat::events().warn("cannot subscribe to {} events: {}", bundle, ec.message());

    kc_state first_state{};
    if (auto e = kext->state(first_state))
        return failed(bundle + ": " + e.message);
    // The kext's table cannot change within one load: read it (and save it
    // for `kextconfd --check` while the kext is away, schema.hpp) once per load.
    if (!known_ || known_->bundle != bundle || known_->load_id != first_state.load_id) {
        known_.reset();
        KextSchema kschema;
        if (auto e = read_kext_schema(*kext, kschema))
            return failed(bundle + ": " + e.message);
        state_.save_schema(schema_to_json(kschema).dump(2) + "\n");
        known_ = KnownKext{bundle, first_state.load_id, std::move(kschema.tunables), false, 0, 0, {}};
    }
    const std::vector<proto::TunableDesc> schema = known_->schema;
    std::vector<Diagnostic> errors;
    auto validated = validate_config(doc, schema, errors);
    if (!validated || !errors.empty()) {
        log_diagnostics(errors);
        for (const auto& d : errors)
            apply_errors_.push_back(d.str());
        if (doc.file == opts_.config_path)
            record_file_errors(errors);
        logcat::config().error("{}: does not fit {} {} ({}); not applied", doc.file, bundle,
                               proto::field_string(kext->hello().kext_version), why);
        ++counters_.apply_failures;
        return ApplyOutcome::Rejected;
    }
    const std::vector<proto::Value> desired = desired_values(schema, validated->values);

    for (int attempt = 1; attempt <= kApplyAttempts; ++attempt) {
        kc_state st = first_state;
        if (attempt > 1)
            if (auto e = kext->state(st))
                return failed(bundle + ": " + e.message);
        const bool first_contact = st.load_id != load_id_;
        if (first_contact) {
            // Follow this load's events from now on, even if applying fails.
            load_id_ = st.load_id;
            last_seq_ = 0; // sequence numbers restart with each load
            applied_generation_ = st.generation;
            applied_hash_ = st.config_hash;
        }
        // Send only what differs from what the kext holds (apply_plan.hpp).
        // Unchanged since this daemon verified it (same load, generation and
        // content hash): the kext holds what we left it at; else read it.
        const bool values_known = known_->values_known && known_->load_id == st.load_id &&
                                  known_->generation == st.generation && known_->config_hash == st.config_hash;
        std::vector<proto::Value> current(schema.size());
        if (values_known)
            current = known_->values;
        else if (auto guess = known_values_by_hash(schema, st.config_hash))
            current = std::move(*guess);
        else
            for (std::size_t i = 0; i < schema.size(); ++i)
                if (auto e = kext->get(schema[i], current[i]))
                    return failed(bundle + ": " + e.message);
        const ApplyPlan plan = plan_apply(schema, current, desired);
        for (const std::size_t i : plan.load_only_pending)
            logcat::kext().warn("{}: {} = {} is applied at next kext load (a load-only tunable; now {})", bundle,
                                schema[i].name, private_value(format_value(schema[i], desired[i])),
                                private_value(format_value(schema[i], current[i])));
        const auto& changes = plan.changes;
        // The one log line (values private, lists by their size): plan.summary.
        const std::string& summary = plan.summary;
        std::vector<std::string> changed_names;
        for (const std::size_t i : plan.changed)
            changed_names.push_back(schema[i].name);
        const std::uint64_t expected_hash = plan.expected_hash;
        if (st.config_hash == expected_hash && changes.empty()) {
            load_id_ = st.load_id;
            applied_generation_ = st.generation;
            applied_hash_ = st.config_hash;
            known_->values_known = true;
            known_->generation = st.generation;
            known_->config_hash = st.config_hash;
            known_->values = std::move(current);
            logcat::kext().info("{} already matches {} (generation {}, hash {}; {})", bundle, doc.file, st.generation,
                                hex(st.config_hash), why);
            reported_drift_.clear();
            return ApplyOutcome::Applied;
        }
        ApplyResult result;
        if (auto e = kext->apply(st.generation, changes, result)) {
            if (e.ec == std::errc::resource_unavailable_try_again && attempt < kApplyAttempts) {
                logcat::kext().warn("{}: another writer committed first; re-reading and retrying", bundle);
                continue;
            }
            return failed(bundle + ": apply failed, the kext keeps generation " + std::to_string(st.generation) + ": " +
                          e.message);
        }
        // Verify by reading back what the kext now holds.
        kc_state after{};
        if (auto e = kext->state(after))
            return failed(bundle + ": applied generation " + std::to_string(result.generation) +
                          " but could not read it back: " + e.message);
        if (after.generation != result.generation || after.config_hash != expected_hash)
            return failed(bundle + ": verification failed: kext reports generation " +
                          std::to_string(after.generation) + " hash " + hex(after.config_hash) +
                          ", expected generation " + std::to_string(result.generation) + " hash " + hex(expected_hash));
        load_id_ = after.load_id;
        applied_generation_ = after.generation;
        applied_hash_ = after.config_hash;
        known_->values_known = true;
        known_->generation = after.generation;
        known_->config_hash = after.config_hash;
        // The kext now holds the file's values, load-only ones unchanged.
        for (const std::size_t i : plan.changed)
            current[i] = desired[i];
        known_->values = std::move(current);
        logcat::kext().info("applied {} to {}: generation {}, hash {}, {} changed{}{} ({})", doc.file, bundle,
                            after.generation, hex(after.config_hash), result.changed, summary.empty() ? "" : ": ",
                            summary, why);
        ++counters_.applies;
        last_apply_ = LastApply{after.generation, after.config_hash, std::chrono::system_clock::now(), result.changed,
                                std::move(changed_names)};
        reported_drift_.clear();
        return ApplyOutcome::Applied;
    }
    return failed(bundle + ": another writer kept committing first (" + std::to_string(kApplyAttempts) +
                  " attempts); trying again at the next event or reload");
}

void Daemon::on_ctl_event(const KernEvent& e)
{
    if (e.vendor != kKevVendorApple || e.kev_class != kKevSystemClass || e.subclass != kKevCtlSubclass)
        return;
    if (e.code == kKevCtlRegistered && kext_state_ != KextState::Present)
        apply_current("kernel control registered");
    else if (e.code == kKevCtlDeregistered && kext_state_ == KextState::Present && config_) {
        KextError err;
        if (!KextClient::connect(config_->doc.kext, KextClient::Access::Query, err) &&
            err.ec == std::errc::no_such_file_or_directory) {
            logcat::events().info("kext {} went away; waiting for it to come back", config_->doc.kext);
            kext_state_ = KextState::Absent;
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
    const bool same_load = ev->hdr.load_id == load_id_;
    // An older or repeated number is not a gap (no unsigned underflow): a
    // kext without ordered posting can deliver concurrent events out of order.
    const bool stale = same_load && last_seq_ != 0 && ev->hdr.seq <= last_seq_;
    if (stale)
        logcat::events().debug("kext event sequence {} arrived after {}: an old event", ev->hdr.seq, last_seq_);
    const bool gap = same_load && last_seq_ != 0 && !stale && ev->hdr.seq != last_seq_ + 1;
    if (gap) {
        ++counters_.seq_gaps;
        logcat::events().warn("kext event sequence jumped from {} to {}: {} events were lost; re-reading state",
                              last_seq_, ev->hdr.seq, ev->hdr.seq - last_seq_ - 1);
    }
    if (same_load && !stale)
        last_seq_ = ev->hdr.seq;
    switch (ev->code) {
    case KC_EV_STARTED:
        logcat::events().info("kext started (version {}, generation {})", ev->kext_version, ev->generation);
        // KEV_CTL_REGISTERED usually gets there first; no second connection
        // to a load already applied to (it would hold off an unload).
        if (!(same_load && kext_state_ == KextState::Present))
            apply_current("kext started");
        break;
    case KC_EV_STOPPING:
        if (kext_state_ != KextState::Absent)
            logcat::events().info("kext stopping (generation {}); waiting for it to come back", ev->generation);
        kext_state_ = KextState::Absent;
        break;
    case KC_EV_APPLIED:
    case KC_EV_TUNABLE_CHANGED:
        // Not our commit: another writer changed the kext.
        if (same_load && ev->generation != applied_generation_)
            schedule_reread("another writer committed");
        break;
    case KC_EV_OVERFLOW:
        logcat::events().warn("the kext lost {} events ({} in all); re-reading state", ev->overflow.lost,
                              ev->overflow.lost_total);
        schedule_reread("events lost");
        break;
    default: break;
    }
    if (gap)
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
        std::error_code rec;
        while (auto e = sock.read(rec))
            kext_events ? on_kext_event(*e) : on_ctl_event(*e);
        if (rec) {
            logcat::events().error("kernel event socket failed: {}; stopping", rec.message());
            exit_status_ = kExitCannotStart;
            io_.stop();
            co_return;
        }
    }
}

int Daemon::run()
{
    // Installed first, so a SIGTERM during start-up is a clean stop too.
    asio::signal_set signals(io_, SIGTERM, SIGINT, SIGHUP);
    std::error_code ec;
    ctl_events_ = EventSocket::open(ec);
    if (ctl_events_)
        kext_events_ = EventSocket::open(ec);
    if (!kext_events_) {
        logcat::daemon().error("cannot open a kernel event socket on {}: {}", kernel_link_description(), ec.message());
        return kExitCannotStart;
    }
    if (auto e = ctl_events_->set_filter(kKevVendorApple, kKevSystemClass, kKevCtlSubclass)) {
        logcat::daemon().error("cannot subscribe to kernel control events: {}", e.message());
        return kExitCannotStart;
    }
    ctl_events_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(ctl_events_->native_handle()));
    kext_events_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(kext_events_->native_handle()));

    admin_ = std::make_unique<AdminServer>(
        io_, opts_.admin_socket.empty() ? admin::default_socket_path() : opts_.admin_socket, opts_.admin_group);
    if (!admin_->open())
        return kExitCannotStart;
    admin_->add_command("status", [this](const nlohmann::json&) { return status_json(); });
    admin_->add_command("reload", [this](const nlohmann::json&) { return reload_json(); });
    admin_->add_command("set", [this](const nlohmann::json& req) { return set_json(req); });
    admin_->add_command("persist", [this](const nlohmann::json& req) { return persist_json(req); });

    logcat::daemon().info(
        "kextconfd starting: config {}, state {}, admin socket {} ({}), via {}", opts_.config_path, opts_.state_dir,
        opts_.admin_socket.empty() ? admin::default_socket_path() : opts_.admin_socket,
        opts_.admin_group.empty() ? "root only" : "root and group " + opts_.admin_group, kernel_link_description());
    state_.open();
    load_at_startup();
    watch_.start(opts_.config_path, [this] { reload(/*forced=*/false); });
    apply_current("startup");

    admin_->start();
    asio::co_spawn(io_, watch_signals(signals), asio::detached);
    asio::co_spawn(io_, watch_events(*ctl_events_, *ctl_events_fd_, false), asio::detached);
    asio::co_spawn(io_, watch_events(*kext_events_, *kext_events_fd_, true), asio::detached);
    io_.run();
    return exit_status_;
}

} // namespace kextconf
