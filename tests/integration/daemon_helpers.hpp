// Helpers for tests that run kextconfd against the reference kext hosted by
// a KextsimHost: the kext's defaults, config text, reading the kext's state
// through `kextconfctl --json status`, waiting for a state, stopping a
// daemon, and DaemonTest, the fixture the daemon's tests share.
#pragma once

#include "process.hpp"

#include <kextconf/admin_protocol.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

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

// The same, naming the running test's file (e2e_test, daemon_admin_test, ...).
inline std::string config_text(const nlohmann::json& tunables)
{
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    return reference_config_text(tunables, test ? std::filesystem::path(test->file()).stem().string() : "a test");
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

// A kextsim host (the reference kext loaded, or nothing), a config
// directory and a state directory of the test's own, kextconfd started on
// them, and requests to its admin socket.
class DaemonTest : public ::testing::Test {
protected:
    explicit DaemonTest(bool load_reference = true) : host_(load_reference) {}

    void SetUp() override
    {
        ASSERT_TRUE(host_.ready());
        ASSERT_EQ(::mkdir(config_dir_.c_str(), 0755), 0);
    }

    // kextconfd on `config` (default config_) with the test's state
    // directory, the given reload debounce and `extra` flags.
    std::unique_ptr<Process> start_daemon(const std::string& debounce_ms, const std::vector<std::string>& extra = {},
                                          const std::string& config = "") const
    {
        std::vector<std::string> argv{
            bin_path("kextconfd"),  "--config", config.empty() ? config_ : config, "--state-dir", state_dir_,
            "--reload-debounce-ms", debounce_ms};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return std::make_unique<Process>(argv, SpawnOptions{host_.env(), false});
    }

    nlohmann::json request(const std::string& cmd, std::error_code& ec) const
    {
        namespace admin = kextconf::admin;
        return admin::request(socket_, {{"v", admin::kVersion}, {"cmd", cmd}}, std::chrono::seconds(5), ec);
    }
    // The same; an error fails the test.
    nlohmann::json request(const std::string& cmd) const
    {
        std::error_code ec;
        nlohmann::json r = request(cmd, ec);
        EXPECT_FALSE(ec) << cmd << ": " << ec.message();
        return r;
    }

    KextsimHost host_;
    const std::string config_dir_ = host_.dir().file("etc");
    const std::string config_ = config_dir_ + "/config.json";
    const std::string state_dir_ = host_.dir().file("state");
    const std::string socket_ = host_.admin_socket();
};

// A kextsim host with an etc/ directory and a managed-preferences directory
// (the macOS one where an MDM's profile lands), both empty.
class ManagedHostTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(host_.ready());
        ASSERT_EQ(::mkdir(etc_.c_str(), 0755), 0);
        ASSERT_EQ(::mkdir(managed_dir_.c_str(), 0755), 0);
    }

    KextsimHost host_;
    const std::string etc_ = host_.dir().file("etc");
    const std::string managed_dir_ = host_.dir().file("managed");
};

} // namespace kctest
