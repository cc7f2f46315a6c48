// Helpers for tests that run kextconfd against the reference kext hosted by
// a KextsimHost: the kext's defaults, config text, reading the kext's state
// through `kextconfctl --json status`, waiting for a state, stopping a daemon.
#pragma once

#include "process.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <optional>
#include <string>

namespace kctest {

// The reference kext's defaults (kext/reference/reference_kext.cpp).
inline const nlohmann::json kReferenceDefaults = {{"enabled", true},
                                                  {"max_clients", 64},
                                                  {"log_level", "info"},
                                                  {"sample_interval_ms", 1000},
                                                  {"event_rate_limit", 0},
                                                  {"heartbeat_interval_ms", 60000},
                                                  {"label", "default"},
                                                  {"blocked_ports", nlohmann::json::array()},
                                                  {"trusted_paths", nlohmann::json::array()}};

// A config file for the reference kext setting `tunables`; `origin` names
// the test in a leading comment.
inline std::string reference_config_text(const nlohmann::json& tunables, const std::string& origin)
{
    return "// written by " + origin +
           "\n{\n    \"kext\": \"org.kextconf.reference\",\n    \"tunables\": " + tunables.dump() + "\n}\n";
}

// `kextconfctl --json status`, parsed; nullopt unless it exits 0 with JSON.
inline std::optional<nlohmann::json> status_json(const KextsimHost& host)
{
    const Result r = host.ctl({"--json", "status"});
    if (r.exit_code != 0)
        return std::nullopt;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded())
        return std::nullopt;
    return j;
}

// Waits until the kext reports `generation` and exactly `tunables` (every
// tunable: those not given at their defaults).
inline ::testing::AssertionResult wait_for_state(const KextsimHost& host, std::uint64_t generation,
                                                 const nlohmann::json& tunables, Millis timeout = 5000ms)
{
    nlohmann::json want = kReferenceDefaults;
    want.update(tunables);
    std::optional<nlohmann::json> last;
    const bool ok = wait_until(
        [&] {
            last = status_json(host);
            return last && last->value("generation", 0ull) == generation && last->at("tunables") == want;
        },
        timeout);
    if (ok)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "wanted generation " << generation << " and " << want.dump()
                                         << "; last status: " << (last ? last->dump() : "(none)");
}

// SIGTERM must stop kextconfd with status 0 (launchd's clean stop).
inline void stop_daemon(Process& d)
{
    ASSERT_TRUE(d.running()) << "kextconfd died early: " << d.describe();
    ASSERT_TRUE(d.signal(SIGTERM));
    ASSERT_TRUE(d.wait(std::chrono::seconds(10))) << "kextconfd ignored SIGTERM: " << d.describe();
    EXPECT_EQ(d.exit_code(), 0) << d.describe();
}

} // namespace kctest
