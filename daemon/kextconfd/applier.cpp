#include "applier.hpp"

#include <kextconf/apply_plan.hpp>
#include <kextconf/logging.hpp>
#include <kextconf/values.hpp>

namespace kextconf {

namespace {

bool fail(ApplyReport& report, std::string message)
{
    logcat::kext().error("{}", message);
    report.outcome = ApplyReport::Outcome::Failed;
    report.failure = std::move(message);
    return true;
}

} // namespace

// Everything one transaction needs, planned from one read of the state.
struct Applier::Attempt {
    const kc_state& st;
    const std::vector<proto::TunableDesc>& schema;
    std::vector<proto::Value>& current;
    const std::vector<proto::Value>& desired;
    const ApplyPlan& plan;
};

namespace {

void log_load_only_pending(const std::string& bundle, const Applier::Attempt& a)
{
    for (const std::size_t i : a.plan.load_only_pending)
        logcat::kext().warn("{}: {} = {} is applied at next kext load (a load-only tunable; now {})", bundle,
                            a.schema[i].name, private_value(format_value(a.schema[i], a.desired[i])),
                            private_value(format_value(a.schema[i], a.current[i])));
}

} // namespace

ApplyReport Applier::apply(KextClient& kext, LoadedConfig& config, LoadedConfig* in_force, const char* why)
{
    ApplyReport report;
    const std::string& bundle = kext.bundle_id();
    kc_state st{};
    if (auto e = kext.state(st); e || (e = session_.follow(kext, st, report.new_load))) {
        fail(report, bundle + ": " + e.message);
        return report;
    }
    kext.know_tunables(session_.tunables()); // errors name the tunable
    const FittedValues& fitted = fit(config, session_);
    if (!fitted.fits()) {
        for (const auto& d : fitted.errors)
            logcat::config().error("{}", d.str());
        logcat::config().error("{}: does not fit {} {} ({}); not applied", config.label(), bundle,
                               session_.schema().kext_version, why);
        report.outcome = ApplyReport::Outcome::Rejected;
        report.errors = fitted.errors;
        return report;
    }
    for (int attempt = 1;; ++attempt) {
        if (attempt > 1)
            if (auto e = kext.state(st)) {
                fail(report, bundle + ": " + e.message);
                return report;
            }
        std::vector<proto::Value> current;
        if (auto e = current_values(kext, st, in_force, current)) {
            fail(report, bundle + ": " + e.message);
            return report;
        }
        const ApplyPlan plan = plan_apply(session_.tunables(), current, fitted.values);
        const Attempt a{st, session_.tunables(), current, fitted.values, plan};
        if (push(kext, a, config.label(), why, attempt == kApplyAttempts, report))
            return report;
    }
}

KextError Applier::current_values(KextClient& kext, const kc_state& st, LoadedConfig* in_force,
                                  std::vector<proto::Value>& out)
{
    // Unchanged since this daemon verified it (same load, generation and
    // content hash): the kext holds what we left it at.
    if (const auto* known = session_.known_values(st)) {
        out = *known;
        return {};
    }
    // A kext just loaded holds its defaults; a kext this daemon (or its
    // previous run) configured holds the configuration in force. The content
    // hash says which, if either, without reading every value back.
    const auto& schema = session_.tunables();
    out = desired_values(schema, {});
    if (proto::config_hash(out) == st.config_hash)
        return {};
    if (in_force)
        if (const FittedValues& f = fit(*in_force, session_);
            f.fits() && proto::config_hash(f.values) == st.config_hash) {
            out = f.values;
            return {};
        }
    for (std::size_t i = 0; i < schema.size(); ++i)
        if (auto e = kext.get(schema[i], out[i]))
            return e;
    return {};
}

bool Applier::push(KextClient& kext, const Attempt& a, const std::string& file, const char* why, bool last_attempt,
                   ApplyReport& report)
{
    const std::string& bundle = kext.bundle_id();
    log_load_only_pending(bundle, a);
    if (a.st.config_hash == a.plan.expected_hash && a.plan.changes.empty()) {
        session_.record(a.st, std::move(a.current));
        logcat::kext().info("{} already matches {} (generation {}, hash {}; {})", bundle, file, a.st.generation,
                            format_config_hash(a.st.config_hash), why);
        report.outcome = ApplyReport::Outcome::Applied;
        report.generation = a.st.generation;
        report.config_hash = a.st.config_hash;
        return true;
    }
    ++report.attempts;
    ApplyResult result;
    if (auto e = kext.apply(a.st.generation, a.plan.changes, result)) {
        if (e.ec == std::errc::resource_unavailable_try_again && !last_attempt) {
            logcat::kext().warn("{}: another writer committed first; re-reading and retrying", bundle);
            return false;
        }
        if (e.ec == std::errc::resource_unavailable_try_again)
            return fail(report, bundle + ": another writer kept committing first (" + std::to_string(kApplyAttempts) +
                                    " attempts); trying again at the next event or reload");
        return fail(report, bundle + ": apply failed, the kext keeps generation " + std::to_string(a.st.generation) +
                                ": " + e.message);
    }
    return verify(kext, a, result, file, why, report);
}

bool Applier::verify(KextClient& kext, const Attempt& a, const ApplyResult& result, const std::string& file,
                     const char* why, ApplyReport& report)
{
    const std::string& bundle = kext.bundle_id();
    kc_state after{};
    if (auto e = kext.state(after))
        return fail(report, bundle + ": applied generation " + std::to_string(result.generation) +
                                " but could not read it back: " + e.message);
    if (after.generation != result.generation || after.config_hash != a.plan.expected_hash)
        return fail(report, bundle + ": verification failed: kext reports generation " +
                                std::to_string(after.generation) + " hash " + format_config_hash(after.config_hash) +
                                ", expected generation " + std::to_string(result.generation) + " hash " +
                                format_config_hash(a.plan.expected_hash));
    // The kext now holds the file's values, load-only ones unchanged.
    for (const std::size_t i : a.plan.changed) {
        a.current[i] = a.desired[i];
        report.changed_names.push_back(a.schema[i].name);
    }
    session_.record(after, std::move(a.current));
    logcat::kext().info("applied {} to {}: generation {}, hash {}, {} changed{}{} ({})", file, bundle, after.generation,
                        format_config_hash(after.config_hash), result.changed, a.plan.summary.empty() ? "" : ": ",
                        a.plan.summary, why);
    report.outcome = ApplyReport::Outcome::Applied;
    report.committed = true;
    report.generation = after.generation;
    report.config_hash = after.config_hash;
    report.changed = result.changed;
    return true;
}

} // namespace kextconf
