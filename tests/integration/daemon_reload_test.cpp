// kextconfd reloading on edit (issue 5, item 5): the real daemon watching a
// real file in a per-test directory, with the kext hosted by `kextsim boot`.
// Every editor-style save causes exactly one apply, a touch none; a bad edit
// or a bad file at boot never replaces the last good configuration, whose
// copy in the state directory survives a restart.
#include "contract_client.hpp"
#include "daemon_helpers.hpp"
#include "process.hpp"

#include <kextconf/kext_client.hpp>

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstring>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utime.h>

namespace {

using namespace kctest;
using nlohmann::json;

// Small, so a test waits little; the quiet period after which we check that
// no second apply follows is several of these.
constexpr const char* kDebounceMs = "50";
constexpr Millis kSettle = 400ms;

const std::string kBadText = "{\n  \"kext\": \"org.kextconf.reference\",\n  \"tunables\": { \"label\": }\n}\n";

// A kextsim host, a config directory and a state directory of the test's own.
class DaemonReload : public DaemonTest {
protected:
    std::unique_ptr<Process> start(const std::vector<std::string>& extra = {})
    {
        return start_daemon(kDebounceMs, extra);
    }

    static void stop(Process& d) { stop_daemon(d); }

    std::size_t applied(const Process& d) const { return count_of(d.err(), "applied " + config_ + " to "); }

    // Starts a daemon on `tunables` and waits until the kext holds them.
    std::unique_ptr<Process> start_applied(const json& tunables)
    {
        write_file(config_, config_text(tunables));
        auto d = start();
        EXPECT_TRUE(wait_for_state(host_, 2, tunables)) << d->describe();
        EXPECT_TRUE(wait_until([&] { return applied(*d) == 1; }, 2s)) << d->describe();
        return d;
    }

    // After an edit: the kext reaches `generation` with `tunables`, and after
    // a quiet period the daemon has logged exactly `applies` applies.
    void expect_one_more_apply(Process& d, std::uint64_t generation, const json& tunables)
    {
        EXPECT_TRUE(wait_for_state(host_, generation, tunables)) << d.describe();
        std::this_thread::sleep_for(kSettle);
        EXPECT_EQ(applied(d), generation - 1) << d.describe();
        EXPECT_TRUE(wait_for_state(host_, generation, tunables, 0ms));
    }
};

TEST_F(DaemonReload, RenameOverSaveAppliesOnceAndSavesState)
{
    auto d = start_applied({{"max_clients", 100}});
    const json edited = {{"max_clients", 200}, {"label", "renamed over"}};
    replace_file(config_, config_text(edited));
    expect_one_more_apply(*d, 3, edited);

    // The state file holds exactly the applied text, root's, mode 0600.
    const std::string saved = state_dir_ + "/last-good.json";
    EXPECT_EQ(read_file(saved), config_text(edited));
    struct stat st {};
    ASSERT_EQ(::stat(saved.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, ::geteuid());
    ASSERT_EQ(::stat(state_dir_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    stop(*d);
}

TEST_F(DaemonReload, InPlaceWriteAppliesOnce)
{
    auto d = start_applied({{"max_clients", 100}});
    const json edited = {{"max_clients", 300}, {"label", "written in place"}};
    write_file(config_, config_text(edited));
    expect_one_more_apply(*d, 3, edited);
    stop(*d);
}

TEST_F(DaemonReload, DeleteThenRecreateAppliesOnce)
{
    const json first = {{"max_clients", 100}};
    auto d = start_applied(first);
    ASSERT_EQ(::unlink(config_.c_str()), 0);
    ASSERT_TRUE(d->wait_for_err("is gone", 5s)) << d->describe();
    EXPECT_TRUE(wait_for_state(host_, 2, first, 0ms)) << "a deleted file keeps the configuration in force";
    EXPECT_TRUE(d->running());

    const json recreated = {{"max_clients", 400}, {"label", "recreated"}};
    write_file(config_, config_text(recreated));
    expect_one_more_apply(*d, 3, recreated);
    EXPECT_EQ(count_of(d->err(), "is gone"), 1u) << d->describe();
    stop(*d);
}

TEST_F(DaemonReload, TouchWithSameContentAppliesNothing)
{
    auto d = start_applied({{"max_clients", 100}});
    // Identical content, rewritten in place and renamed over, and a touch.
    write_file(config_, config_text({{"max_clients", 100}}));
    replace_file(config_, config_text({{"max_clients", 100}}));
    ASSERT_EQ(::utime(config_.c_str(), nullptr), 0);
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(applied(*d), 1u) << d->describe();
    EXPECT_EQ(count_of(d->err(), "changed; reloading"), 0u) << d->describe();
    EXPECT_TRUE(wait_for_state(host_, 2, {{"max_clients", 100}}, 0ms));
    stop(*d);
}

// The kext's count of get/setsockopt calls on both controls, read through
// `query` (the read itself is one of them).
std::uint64_t kext_requests(kextsim::SystemSocket& query)
{
    kc_counters c{};
    std::size_t len = sizeof c;
    EXPECT_EQ(query.getsockopt(kextsim::kSysprotoControl, KC_OPT_COUNTERS, &c, &len), 0) << std::strerror(errno);
    return c.requests;
}

// An edit that leaves every value as the kext holds it (a comment, a default
// spelled out) is taken without a single request to the kext; the next real
// edit applies as usual.
TEST_F(DaemonReload, EditKeepingTheValuesSendsTheKextNothing)
{
    const json values = {{"max_clients", 100}, {"label", "kept"}};
    auto d = start_applied(values);
    int err = 0;
    auto query = open_control(host_.root(), kReferenceQueryControl, err);
    ASSERT_TRUE(query) << std::strerror(err);
    const std::uint64_t first = kext_requests(*query);
    const std::uint64_t per_read = kext_requests(*query) - first;
    const std::uint64_t before = first + per_read;

    // The same text again, then the same values written another way.
    replace_file(config_, config_text(values));
    std::this_thread::sleep_for(kSettle);
    json spelled_out = values;
    spelled_out["enabled"] = true; // the default
    const std::string reworded = reference_config_text(spelled_out, "a reworded daemon_reload_test");
    replace_file(config_, reworded);
    ASSERT_TRUE(d->wait_for_err("already holds the values of " + config_, 5s)) << d->describe();
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(kext_requests(*query) - before, per_read) << "the kext was sent nothing: " << d->describe();
    EXPECT_EQ(applied(*d), 1u) << d->describe();
    EXPECT_EQ(read_file(state_dir_ + "/last-good.json"), reworded) << "the reworded file is the last good copy";

    const json edited = {{"max_clients", 200}, {"label", "kept"}};
    replace_file(config_, config_text(edited));
    expect_one_more_apply(*d, 3, edited);
    stop(*d);
}

// Another writer's commit: the daemon no longer knows what the kext holds,
// so an edit back to the file's values is applied, not taken as a no-op.
TEST_F(DaemonReload, EditAfterAnotherWritersCommitAsksTheKext)
{
    const json values = {{"max_clients", 100}};
    auto d = start_applied(values);
    {
        ScopedEnv root("KEXTSIM_ROOT", host_.root());
        kextconf::KextError err;
        auto kext = kextconf::KextClient::connect(kReferenceBundleId, kextconf::KextClient::Access::Admin, err);
        ASSERT_TRUE(kext) << err.message;
        kc_state st{};
        ASSERT_FALSE(kext->state(st));
        kextconf::ApplyResult res;
        const auto e = kext->apply(st.generation, {{1, kextconf::proto::Value::of_uint(300)}}, res);
        ASSERT_FALSE(e) << e.message;
    }
    ASSERT_TRUE(d->wait_for_err("drifted from " + config_, 3s)) << d->describe();
    replace_file(config_, reference_config_text(values, "a reworded daemon_reload_test"));
    EXPECT_TRUE(wait_for_state(host_, 4, values)) << d->describe();
    EXPECT_EQ(count_of(d->err(), "already holds the values"), 0u) << d->describe();
    stop(*d);
}

TEST_F(DaemonReload, BadEditKeepsLastGoodAndKeepsRunning)
{
    const json good = {{"max_clients", 100}, {"label", "good"}};
    auto d = start_applied(good);
    replace_file(config_, kBadText);
    ASSERT_TRUE(d->wait_for_err("reload refused", 5s)) << d->describe();
    EXPECT_NE(d->err().find(config_ + ":3:"), std::string::npos) << d->describe();
    std::this_thread::sleep_for(kSettle);
    EXPECT_TRUE(d->running()) << d->describe();
    EXPECT_EQ(count_of(d->err(), "reload refused"), 1u) << d->describe();
    EXPECT_TRUE(wait_for_state(host_, 2, good, 0ms));
    EXPECT_EQ(read_file(state_dir_ + "/last-good.json"), config_text(good)) << "the saved copy is the good one";
    stop(*d);
}

TEST_F(DaemonReload, BootWithBadFileAppliesSavedCopy)
{
    const json good = {{"max_clients", 100}, {"label", "saved"}};
    {
        auto d = start_applied(good);
        stop(*d);
    }
    // A fresh load of the kext (defaults, generation 1) and a broken file.
    ASSERT_TRUE(host_.wait_no_clients());
    ASSERT_EQ(host_.kextsim({"unload", kReferenceBundleId}).exit_code, 0);
    ASSERT_EQ(host_.kextsim({"load", kext_bundle()}).exit_code, 0);
    ASSERT_TRUE(wait_for_state(host_, 1, json::object()));
    write_file(config_, kBadText);

    auto d = start();
    EXPECT_TRUE(wait_for_state(host_, 2, good)) << d->describe();
    EXPECT_TRUE(d->wait_for_err("applying the last good configuration saved in", 0ms)) << d->describe();
    EXPECT_NE(d->err().find("applied " + state_dir_ + "/last-good.json to "), std::string::npos) << d->describe();
    EXPECT_NE(d->err().find(config_ + ":3:"), std::string::npos) << d->describe();

    // Fixing the file applies it.
    const json fixed = {{"max_clients", 500}, {"label", "fixed"}};
    replace_file(config_, config_text(fixed));
    EXPECT_TRUE(wait_for_state(host_, 3, fixed)) << d->describe();
    stop(*d);
}

TEST_F(DaemonReload, FirstBootWithBadFileWaitsForFix)
{
    write_file(config_, kBadText);
    auto d = start();
    ASSERT_TRUE(d->wait_for_err("no saved last good configuration", 5s)) << d->describe();
    EXPECT_NE(d->err().find(config_ + ":3:"), std::string::npos) << d->describe();
    std::this_thread::sleep_for(kSettle);
    EXPECT_TRUE(d->running()) << d->describe();
    EXPECT_TRUE(wait_for_state(host_, 1, json::object(), 0ms)) << "the kext was not touched";

    const json fixed = {{"max_clients", 42}, {"label", "fixed"}};
    write_file(config_, config_text(fixed));
    expect_one_more_apply(*d, 2, fixed);
    stop(*d);
}

TEST_F(DaemonReload, UnsafeStateDirIsReportedAndDaemonRuns)
{
    ASSERT_EQ(::mkdir(state_dir_.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(state_dir_.c_str(), 0777), 0);
    const json good = {{"max_clients", 100}};
    write_file(config_, config_text(good));
    auto d = start();
    EXPECT_TRUE(wait_for_state(host_, 2, good)) << d->describe();
    EXPECT_TRUE(d->wait_for_err("writable by group or others", 0ms)) << d->describe();
    EXPECT_NE(::access((state_dir_ + "/last-good.json").c_str(), F_OK), 0) << "nothing saved in an unsafe directory";
    stop(*d);
}

} // namespace
