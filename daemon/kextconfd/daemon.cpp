#include "daemon.hpp"

#include "apply_plan.hpp"
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
        spdlog::error("{}", d.str());
}
} // namespace

Daemon::Daemon(asio::io_context& io, DaemonOptions opts)
    : io_(io), opts_(std::move(opts)), state_(opts_.state_dir), watch_(io, opts_.reload_debounce)
{
}

void Daemon::apply_current(const char* why)
{
    if (candidate_) {
        switch (try_apply(candidate_->doc, why)) {
        case ApplyOutcome::Applied:
            config_ = std::move(candidate_);
            candidate_.reset();
            state_.save_last_good(config_->text);
            return;
        case ApplyOutcome::Rejected:
            candidate_.reset();
            if (config_)
                spdlog::error("{}: edit refused; keeping the last good configuration ({})", opts_.config_path,
                              config_->doc.file);
            else
                spdlog::error("{}: refused, and there is no last good configuration; the kext keeps its current "
                              "values until the file is fixed",
                              opts_.config_path);
            break; // re-assert the configuration in force below
        case ApplyOutcome::Absent:
        case ApplyOutcome::Failed: return; // try the candidate again next time
        }
    }
    if (config_ && try_apply(config_->doc, why) == ApplyOutcome::Applied)
        state_.save_last_good(config_->text);
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
    KextError err;
    auto kext = KextClient::connect(bundle, KextClient::Access::Admin, err);
    if (!kext) {
        if (err.ec == std::errc::no_such_file_or_directory) {
            if (kext_state_ != KextState::Absent)
                spdlog::info("kext {} is not loaded; waiting for it to register its control", bundle);
            kext_state_ = KextState::Absent;
            return ApplyOutcome::Absent;
        }
        spdlog::error("{}", err.message);
        return ApplyOutcome::Failed;
    }
    kext_state_ = KextState::Present;

    if (vendor_code_ == 0 && !kext_events_->vendor_code(bundle, vendor_code_))
        if (auto ec = kext_events_->set_filter(vendor_code_, KC_EVENT_CLASS, 0))
            spdlog::warn("cannot subscribe to {} events: {}", bundle, ec.message());

    kc_state first_state{};
    if (auto e = kext->state(first_state)) {
        spdlog::error("{}: {}", bundle, e.message);
        return ApplyOutcome::Failed;
    }
    if (!known_ || known_->bundle != bundle || known_->load_id != first_state.load_id) {
        known_.reset();
        std::vector<proto::TunableDesc> described;
        if (auto e = kext->describe(described)) {
            spdlog::error("{}: {}", bundle, e.message);
            return ApplyOutcome::Failed;
        }
        known_ = KnownKext{bundle, first_state.load_id, std::move(described), false, 0, 0, {}};
    }
    const std::vector<proto::TunableDesc> schema = known_->schema;
    std::vector<Diagnostic> errors;
    auto validated = validate_config(doc, schema, errors);
    if (!validated || !errors.empty()) {
        log_diagnostics(errors);
        spdlog::error("{}: does not fit {} {} ({}); not applied", doc.file, bundle,
                      proto::field_string(kext->hello().kext_version), why);
        return ApplyOutcome::Rejected;
    }
    const std::vector<proto::Value> desired = desired_values(schema, validated->values);

    for (int attempt = 1; attempt <= kApplyAttempts; ++attempt) {
        kc_state st = first_state;
        if (attempt > 1)
            if (auto e = kext->state(st)) {
                spdlog::error("{}: {}", bundle, e.message);
                return ApplyOutcome::Failed;
            }
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
                if (auto e = kext->get(schema[i], current[i])) {
                    spdlog::error("{}: {}", bundle, e.message);
                    return ApplyOutcome::Failed;
                }
        const ApplyPlan plan = plan_apply(schema, current, desired);
        for (const std::size_t i : plan.load_only_pending)
            spdlog::warn("{}: {} takes effect only when the kext is next loaded (now {})", bundle,
                         describe_change(schema[i], desired[i]), format_value(schema[i], current[i]));
        const std::vector<std::pair<std::uint32_t, proto::Value>>& changes = plan.changes;
        const std::string& summary = plan.summary;
        const std::uint64_t expected_hash = proto::config_hash(plan.expected);
        if (st.config_hash == expected_hash && changes.empty()) {
            load_id_ = st.load_id;
            applied_generation_ = st.generation;
            applied_hash_ = st.config_hash;
            known_->values_known = true;
            known_->generation = st.generation;
            known_->config_hash = st.config_hash;
            known_->values = std::move(current);
            spdlog::info("{} already matches {} (generation {}, hash {}; {})", bundle, doc.file, st.generation,
                         hex(st.config_hash), why);
            return ApplyOutcome::Applied;
        }
        ApplyResult result;
        if (auto e = kext->apply(st.generation, changes, result)) {
            if (e.ec == std::errc::resource_unavailable_try_again && attempt < kApplyAttempts) {
                spdlog::warn("{}: another writer committed first; re-reading and retrying", bundle);
                continue;
            }
            spdlog::error("{}: apply failed, the kext keeps generation {}: {}", bundle, st.generation, e.message);
            return ApplyOutcome::Failed;
        }
        // Verify by reading back what the kext now holds.
        kc_state after{};
        if (auto e = kext->state(after)) {
            spdlog::error("{}: applied generation {} but could not read it back: {}", bundle, result.generation,
                          e.message);
            return ApplyOutcome::Failed;
        }
        if (after.generation != result.generation || after.config_hash != expected_hash) {
            spdlog::error("{}: verification failed: kext reports generation {} hash {}, expected generation {} hash {}",
                          bundle, after.generation, hex(after.config_hash), result.generation, hex(expected_hash));
            return ApplyOutcome::Failed;
        }
        load_id_ = after.load_id;
        applied_generation_ = after.generation;
        applied_hash_ = after.config_hash;
        known_->values_known = true;
        known_->generation = after.generation;
        known_->config_hash = after.config_hash;
        known_->values = plan.expected;
        spdlog::info("applied {} to {}: generation {}, hash {}, {} changed{}{} ({})", doc.file, bundle,
                     after.generation, hex(after.config_hash), result.changed, summary.empty() ? "" : ": ", summary,
                     why);
        return ApplyOutcome::Applied;
    }
    return ApplyOutcome::Failed; // every attempt met a newer generation
}

void Daemon::check_drift(const char* why)
{
    if (!config_)
        return;
    KextError err;
    auto kext = KextClient::connect(config_->doc.kext, KextClient::Access::Query, err);
    kc_state st{};
    if (!kext || kext->state(st))
        return;
    if (st.load_id == load_id_ && (st.generation != applied_generation_ || st.config_hash != applied_hash_))
        spdlog::warn("{} drifted from {} ({}): generation {} hash {}, applied generation {} hash {}; the file's "
                     "values return at the next reload (SIGHUP) or kext load",
                     config_->doc.kext, config_->doc.file, why, st.generation, hex(st.config_hash), applied_generation_,
                     hex(applied_hash_));
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
            spdlog::info("kext {} went away; waiting for it to come back", config_->doc.kext);
            kext_state_ = KextState::Absent;
        }
    }
}

void Daemon::on_kext_event(const KernEvent& e)
{
    auto ev = proto::decode_event(e.code, e.data);
    if (!ev) {
        spdlog::warn("malformed kext event code {} ({} bytes)", e.code, e.data.size());
        return;
    }
    const bool same_load = ev->hdr.load_id == load_id_;
    const bool gap = same_load && last_seq_ != 0 && ev->hdr.seq != last_seq_ + 1;
    if (gap)
        spdlog::warn("kext event sequence jumped from {} to {}: events were lost; re-reading state", last_seq_,
                     ev->hdr.seq);
    last_seq_ = ev->hdr.seq;
    switch (ev->code) {
    case KC_EV_STARTED:
        spdlog::info("kext started (version {}, generation {})", ev->kext_version, ev->generation);
        apply_current("kext started");
        break;
    case KC_EV_STOPPING:
        spdlog::info("kext stopping (generation {})", ev->generation);
        kext_state_ = KextState::Absent;
        break;
    case KC_EV_APPLIED:
        if (same_load && ev->generation != applied_generation_)
            check_drift("another writer committed");
        break;
    default: spdlog::debug("kext event {} (sequence {})", ev->code, ev->hdr.seq); break;
    }
    if (gap)
        check_drift("event gap");
}

asio::awaitable<void> Daemon::watch_signals(asio::signal_set& signals)
{
    for (;;) {
        boost::system::error_code ec;
        const int sig = co_await signals.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return;
        if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", opts_.config_path);
            reload(/*forced=*/true);
            continue;
        }
        spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
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
            spdlog::error("kernel event socket failed: {}; stopping", rec.message());
            exit_status_ = 1;
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
        spdlog::error("cannot open a kernel event socket on {}: {}", kernel_link_description(), ec.message());
        return 1;
    }
    if (auto e = ctl_events_->set_filter(kKevVendorApple, kKevSystemClass, kKevCtlSubclass)) {
        spdlog::error("cannot subscribe to kernel control events: {}", e.message());
        return 1;
    }
    ctl_events_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(ctl_events_->native_handle()));
    kext_events_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(kext_events_->native_handle()));

    spdlog::info("kextconfd starting: config {}, state {}, via {}", opts_.config_path, opts_.state_dir,
                 kernel_link_description());
    state_.open();
    load_at_startup();
    watch_.start(opts_.config_path, [this] { reload(/*forced=*/false); });
    apply_current("startup");

    asio::co_spawn(io_, watch_signals(signals), asio::detached);
    asio::co_spawn(io_, watch_events(*ctl_events_, *ctl_events_fd_, false), asio::detached);
    asio::co_spawn(io_, watch_events(*kext_events_, *kext_events_fd_, true), asio::detached);
    io_.run();
    return exit_status_;
}

} // namespace kextconf
