// Keeping the configuration applied: another writer's commit and lost events
// make kextconfd re-read the kext and report drift (corrected at the next
// reload, docs/daemon.md); the kext's absence is said once; a load-only
// tunable is applied at the next kext load; a kext speaking another protocol
// version is refused at hello. Real daemon, real kextsim host, and commits
// made directly on the kext's admin control by the test.
#include "daemon_helpers.hpp"
#include "process.hpp"
#include <kextconf/admin_protocol.hpp>
#include <kextconf/kext_client.hpp>

#include <nlohmann/json.hpp>

#include <csignal>
#include <sys/stat.h>
#include <thread>

namespace {

using namespace kctest;
using nlohmann::json;
namespace admin = kextconf::admin;
using kextconf::KextClient;

class DaemonDrift : public DaemonTest {
protected:
    explicit DaemonDrift(bool load_reference = true) : DaemonTest(load_reference) {}

    std::unique_ptr<Process> start(const std::string& config) { return start_daemon("50", {}, config); }

    // Commits max_clients = value on the kext's admin control, as another
    // writer (a test, an admin's tool) would. The caller sets KEXTSIM_ROOT.
    static void commit_max_clients(KextClient& kext, std::uint64_t value)
    {
        kc_state st{};
        ASSERT_FALSE(kext.state(st));
        kextconf::ApplyResult res;
        const auto e = kext.apply(st.generation, {{1, kextconf::proto::Value::of_uint(value)}}, res);
        ASSERT_FALSE(e) << e.message;
    }
};

TEST_F(DaemonDrift, ForeignCommitIsReportedAndUndoneAtReload)
{
    const json tunables = {{"max_clients", 100}, {"label", "drift"}};
    write_file(config_, config_text(tunables));
    auto d = start(config_);
    ASSERT_TRUE(wait_for_state(host_, 2, tunables)) << d->describe();

    ScopedEnv root("KEXTSIM_ROOT", host_.root());
    kextconf::KextError err;
    {
        auto kext = KextClient::connect(kReferenceBundleId, KextClient::Access::Admin, err);
        ASSERT_TRUE(kext) << err.message;
        commit_max_clients(*kext, 999);
    }
    ASSERT_TRUE(d->wait_for_err("drifted from " + config_, 3s)) << d->describe();
    EXPECT_NE(d->err().find("(another writer committed; generation 3): max_clients = 999 (file: 100); the file's "
                            "values return at the next reload"),
              std::string::npos)
        << d->describe();
    json s = request("status");
    EXPECT_EQ(s.at("drift"), json::array({{{"name", "max_clients"}, {"file", 100}, {"kext", 999}}})) << s.dump();
    EXPECT_GE(s.at("counters").at("rereads").get<int>(), 1);
    // Not fought at once: the other writer's value stands until a reload.
    json held = tunables;
    held["max_clients"] = 999;
    EXPECT_TRUE(wait_for_state(host_, 3, held, 0ms));

    const json r = request("reload");
    EXPECT_EQ(r.at("ok"), true) << r.dump();
    EXPECT_EQ(r.at("changed"), json({"max_clients"}));
    EXPECT_TRUE(wait_for_state(host_, 4, tunables, 0ms));
    EXPECT_EQ(request("status").at("drift"), json::array());
    stop_daemon(*d);
}

// Events the daemon could not read in time are lost (32 KiB per listener);
// the first event after them shows the gap in sequence numbers, and the
// daemon re-reads the kext.
TEST_F(DaemonDrift, LostEventsTriggerReread)
{
    const json tunables = {{"max_clients", 100}};
    write_file(config_, config_text(tunables));
    auto d = start(config_);
    ASSERT_TRUE(wait_for_state(host_, 2, tunables)) << d->describe();
    ASSERT_TRUE(wait_until([&] { return ::access(host_.admin_socket().c_str(), F_OK) == 0; }, 2s));

    ScopedEnv root("KEXTSIM_ROOT", host_.root());
    kextconf::KextError err;
    auto kext = KextClient::connect(kReferenceBundleId, KextClient::Access::Admin, err);
    ASSERT_TRUE(kext) << err.message;
    ASSERT_TRUE(d->signal(SIGSTOP));
    // Each commit posts at least an applied event (56 bytes with its
    // header): 1200 of them overflow a 32 KiB listener queue.
    constexpr int kCommits = 1200;
    for (int i = 0; i < kCommits; ++i) {
        commit_max_clients(*kext, i % 2 == 0 ? 7 : 8);
        if (HasFatalFailure())
            break;
    }
    ASSERT_TRUE(d->signal(SIGCONT));
    // What was queued shows commits the daemon did not make...
    ASSERT_TRUE(d->wait_for_err("drifted from " + config_, 5s)) << d->describe();
    // ...and the next event after the lost ones shows the gap. (The kext's
    // own rate limit may hold events back until its one-second window ends,
    // so commit again until one gets through and the daemon has re-read.)
    EXPECT_TRUE(wait_until(
        [&] {
            commit_max_clients(*kext, 9);
            return d->err().find("max_clients = 9 (file: 100)") != std::string::npos;
        },
        5s, 100ms))
        << d->describe();
    kext.reset();
    EXPECT_NE(d->err().find("events were lost; re-reading state"), std::string::npos) << d->describe();
    const json s = request("status");
    EXPECT_GE(s.at("counters").at("seq_gaps").get<int>(), 1) << s.dump();
    EXPECT_EQ(s.at("drift"), json::array({{{"name", "max_clients"}, {"file", 100}, {"kext", 9}}})) << s.dump();
    stop_daemon(*d);
}

// One info line per apply (category kext), errors for a refused file
// (category config), a warning for drift; values marked private reach stderr
// as plain text; --log-level warn keeps only warnings and errors.
TEST_F(DaemonDrift, LogLinesHaveLevelsAndCategories)
{
    const json tunables = {{"max_clients", 100}, {"label", "logged"}};
    write_file(config_, config_text(tunables));
    auto d = start(config_);
    ASSERT_TRUE(wait_for_state(host_, 2, tunables)) << d->describe();
    ASSERT_TRUE(d->wait_for_err("saved the configuration in force", 2s)) << d->describe();
    EXPECT_EQ(count_of(d->err(), " info kext: applied " + config_ + " to org.kextconf.reference: generation 2, hash "),
              1u)
        << d->describe();
    EXPECT_NE(d->err().find("2 changed: max_clients=100, label=\"logged\" (startup)\n"), std::string::npos)
        << d->describe();

    ASSERT_TRUE(wait_until([&] { return ::access(host_.admin_socket().c_str(), F_OK) == 0; }, 2s));
    write_file(config_, "{\n  \"kext\": \"org.kextconf.reference\",\n  \"tunables\": { \"label\": }\n}\n");
    EXPECT_EQ(request("reload").at("ok"), false);
    EXPECT_NE(d->err().find(" error config: " + config_ + ":3:26: error: expected the value of \"label\", found '}'"),
              std::string::npos)
        << d->describe();
    EXPECT_NE(d->err().find(" error config: " + config_ + ": reload refused; keeping the last good configuration"),
              std::string::npos)
        << d->describe();

    ScopedEnv root("KEXTSIM_ROOT", host_.root());
    kextconf::KextError err;
    {
        auto kext = KextClient::connect(kReferenceBundleId, KextClient::Access::Admin, err);
        ASSERT_TRUE(kext) << err.message;
        commit_max_clients(*kext, 7);
    }
    ASSERT_TRUE(d->wait_for_err(" warning kext: org.kextconf.reference drifted from", 3s)) << d->describe();
    EXPECT_EQ(d->err().find_first_of("\x02\x03"), std::string::npos) << "private-value markers leaked to stderr";
    EXPECT_EQ(count_of(d->err(), " info kext: applied "), 1u) << d->describe();
    stop_daemon(*d);

    write_file(host_.dir().file("quiet.json"), config_text({{"max_clients", 55}}));
    Process quiet({bin_path("kextconfd"), "--config", host_.dir().file("quiet.json"), "--state-dir",
                   host_.dir().file("state-quiet"), "--admin-socket", host_.dir().file("quiet.sock"), "--log-level",
                   "warn"},
                  SpawnOptions{host_.env(), false});
    EXPECT_TRUE(wait_for_state(host_, 4, {{"max_clients", 55}})) << quiet.describe();
    stop_daemon(quiet);
    EXPECT_EQ(quiet.err().find(" info "), std::string::npos) << quiet.describe();
}

class DaemonAbsentKext : public DaemonDrift {
protected:
    DaemonAbsentKext() : DaemonDrift(/*load_reference=*/false) {}
};

// While the kext is away the daemon says so exactly once, however often it
// is woken; it applies the latest good file when the kext arrives.
TEST_F(DaemonAbsentKext, SaysSoOnceAndAppliesWhenLoaded)
{
    write_file(config_, config_text({{"max_clients", 100}}));
    auto d = start(config_);
    ASSERT_TRUE(d->wait_for_err("is not loaded; waiting for it to register its control", 5s)) << d->describe();
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(d->signal(SIGHUP));
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(wait_until([&] { return ::access(host_.admin_socket().c_str(), F_OK) == 0; }, 2s));
    const json r = request("reload");
    EXPECT_EQ(r.at("ok"), true) << r.dump();
    EXPECT_EQ(r.at("applied"), false) << "nothing to apply to";
    const json s = request("status");
    EXPECT_EQ(s.at("kext").at("loaded"), false);
    EXPECT_TRUE(s.at("applied").is_null());
    // Another kext registering a control wakes the daemon too.
    ASSERT_EQ(host_.kextsim({"load", KEXTCONF_TEST_LOADONLY_KEXT_BUNDLE}).exit_code, 0);
    const json edited = {{"max_clients", 300}, {"label", "while away"}};
    replace_file(config_, config_text(edited));
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(count_of(d->err(), "is not loaded"), 1u) << d->describe();

    ASSERT_EQ(host_.kextsim({"load", kext_bundle()}).exit_code, 0);
    EXPECT_TRUE(wait_for_state(host_, 2, edited)) << d->describe();

    // Unloaded while running: one line, then re-applied on the next load.
    ASSERT_TRUE(host_.wait_no_clients());
    ASSERT_EQ(host_.kextsim({"unload", kReferenceBundleId}).exit_code, 0);
    ASSERT_TRUE(d->wait_for_err("waiting for it to come back", 3s)) << d->describe();
    ASSERT_TRUE(d->signal(SIGHUP));
    ASSERT_TRUE(d->signal(SIGHUP));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(count_of(d->err(), "waiting for it to come back") + count_of(d->err(), "is not loaded"), 2u)
        << d->describe();
    ASSERT_EQ(host_.kextsim({"load", kext_bundle()}).exit_code, 0);
    EXPECT_TRUE(wait_for_state(host_, 2, edited)) << d->describe();
    stop_daemon(*d);
}

class DaemonTestKext : public ::testing::Test {
protected:
    DaemonTestKext(const std::string& bundle, const std::string& id) : host_(bundle, id) {}
    void SetUp() override { ASSERT_TRUE(host_.ready()); }

    std::unique_ptr<Process> start(const std::string& text)
    {
        write_file(config_, text);
        return std::make_unique<Process>(std::vector<std::string>{bin_path("kextconfd"), "--config", config_,
                                                                  "--state-dir", host_.dir().file("state")},
                                         SpawnOptions{host_.env(), false});
    }

    KextsimHost host_;
    const std::string config_ = host_.dir().file("config.json");
};

class DaemonLoadOnly : public DaemonTestKext {
protected:
    DaemonLoadOnly() : DaemonTestKext(KEXTCONF_TEST_LOADONLY_KEXT_BUNDLE, "org.kextconf.test.loadonly") {}
};

// A load-only tunable cannot change in a transaction: the daemon says it is
// applied at the next kext load and applies everything else.
TEST_F(DaemonLoadOnly, ChangeIsAppliedAtNextLoad)
{
    auto d = start("{ \"kext\": \"org.kextconf.test.loadonly\",\n"
                   "  \"tunables\": { \"enabled\": false, \"pool_size\": 128 } }\n");
    ASSERT_TRUE(d->wait_for_err("applied " + config_ + " to org.kextconf.test.loadonly: generation 2", 5s))
        << d->describe();
    EXPECT_NE(d->err().find("org.kextconf.test.loadonly: pool_size = 128 is applied at next kext load (a load-only "
                            "tunable; now 64)"),
              std::string::npos)
        << d->describe();
    const Result st = host_.ctl({"--kext", "org.kextconf.test.loadonly", "--json", "status"});
    ASSERT_EQ(st.exit_code, 0) << st.describe();
    const json j = json::parse(st.out);
    EXPECT_EQ(j.at("tunables"), json({{"enabled", false}, {"pool_size", 64}}));
    std::error_code ec;
    const json s = admin::request(host_.admin_socket(), {{"v", 1}, {"cmd", "status"}}, 5s, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(s.at("drift"), json::array()) << "a pending load-only value is not drift";
    stop_daemon(*d);
}

class DaemonFutureKext : public DaemonTestKext {
protected:
    DaemonFutureKext() : DaemonTestKext(KEXTCONF_TEST_FUTURE_KEXT_BUNDLE, "org.kextconf.test.future") {}
};

// A kext from a later release that no longer speaks this protocol version:
// refused at hello with a message that says what to update; nothing sent.
TEST_F(DaemonFutureKext, ProtocolMismatchIsRefusedAtHello)
{
    const std::string text = "{ \"kext\": \"org.kextconf.test.future\", \"tunables\": {} }\n";
    const std::string want = "protocol mismatch: org.kextconf.test.future speaks versions " +
                             std::to_string(KC_PROTO_VERSION + 1) + ".." + std::to_string(KC_PROTO_VERSION + 1) +
                             ", this tool speaks " + std::to_string(KC_PROTO_MIN_VERSION) + ".." +
                             std::to_string(KC_PROTO_VERSION) + " (update kextconf or the kext)";
    auto d = start(text);
    ASSERT_TRUE(d->wait_for_err(want, 5s)) << d->describe();
    EXPECT_TRUE(d->running()) << "a mismatch is not a reason to crash-loop: " << d->describe();
    std::error_code ec;
    ASSERT_TRUE(wait_until([&] { return ::access(host_.admin_socket().c_str(), F_OK) == 0; }, 2s));
    const json s = admin::request(host_.admin_socket(), {{"v", 1}, {"cmd", "status"}}, 5s, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(s.at("kext").at("loaded"), false);
    EXPECT_NE(s.at("kext").at("error").get<std::string>().find("protocol mismatch"), std::string::npos) << s.dump();
    EXPECT_EQ(s.at("counters").at("apply_failures"), 1);
    stop_daemon(*d);

    const Result check =
        run({bin_path("kextconfd"), "--check", "--config", config_, "--state-dir", host_.dir().file("state")},
            SpawnOptions{host_.env(), false});
    EXPECT_EQ(check.exit_code, 1) << check.describe();
    EXPECT_NE(check.err.find(config_ + ": error: " + want.substr(0, want.find(" speaks"))), std::string::npos)
        << check.describe();
}

} // namespace
