// kextconfctl driven as an administrator would: against a real `kextsim boot`
// hosting the reference kext, and (for status, reload and set --persist)
// the real kextconfd over its admin socket.
#include "daemon_helpers.hpp"
#include "process.hpp"

#include <kextconf/defaults.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace kctest;
using nlohmann::json;

json parse(const Result& r)
{
    return json::parse(r.out, nullptr, false);
}

std::uint64_t generation(const KextsimHost& host)
{
    const auto st = status_json(host);
    return st ? st->value("generation", 0ull) : 0;
}

// kextconfd with its admin socket in the host's directory.
std::unique_ptr<Process> start_daemon(const KextsimHost& host, const std::string& config)
{
    return std::make_unique<Process>(std::vector<std::string>{bin_path("kextconfd"), "--config", config, "--state-dir",
                                                              host.dir().file("state"), "--admin-socket",
                                                              host.dir().file("kextconfd.sock")},
                                     SpawnOptions{host.env(), false});
}

// Each test boots its own host with the reference kext (CtlWithoutKext:
// none); the CtlUsage, CtlAsNobody and CtlEvents tests need none or their own.
using Ctl = HostTest;
class CtlWithoutKext : public HostTest {
protected:
    CtlWithoutKext() : HostTest(/*load_reference=*/false) {}
};

TEST_F(Ctl, SetIsOneTransactionAndSaysItIsTransient)
{
    const Result set = host.ctl({"set", "max_clients=100", "label=two words", "log_level=debug", "enabled=false"});
    ASSERT_EQ(set.exit_code, 0) << set.describe();
    EXPECT_NE(set.out.find("generation 1 -> 2, 4 changed"), std::string::npos) << set.describe();
    // No daemon here: the note promises nothing of it and names no file.
    EXPECT_NE(
        set.err.find("note: this change is transient, like sysctl -w: it lasts until the kext is reloaded "
                     "(kextconfd is not running). To change a configuration file, use --persist --config FILE.\n"),
        std::string::npos)
        << set.describe();
    EXPECT_EQ(set.err.find("puts back"), std::string::npos) << set.describe();
    EXPECT_EQ(set.err.find(".json"), std::string::npos) << set.describe();
    EXPECT_TRUE(wait_for_state(
        host, 2, {{"max_clients", 100}, {"label", "two words"}, {"log_level", "debug"}, {"enabled", false}}));

    const Result js = host.ctl({"--json", "set", "sample_interval_ms=250"});
    ASSERT_EQ(js.exit_code, 0) << js.describe();
    EXPECT_EQ(parse(js).value("generation", 0), 3) << js.describe();
    EXPECT_EQ(parse(js).value("persistent", true), false) << js.describe();
}

// One value grammar: what the file refuses, set refuses in the same words.
TEST_F(Ctl, SetReadsValuesAsTheFileDoes)
{
    const std::string config = host.dir().file("config.json");
    for (const auto& [typed, in_file] :
         std::vector<std::pair<std::string, json>>{{"yes", "yes"}, {"on", "on"}, {"1", 1}, {"TRUE", "TRUE"}}) {
        write_file(config, config_text({{"enabled", in_file}}));
        const Result file = host.ctl({"config", "check", config});
        EXPECT_EQ(file.exit_code, 1) << file.describe();
        const std::size_t at = file.err.find("error: tunable \"enabled\"");
        ASSERT_NE(at, std::string::npos) << file.describe();
        const std::string words = file.err.substr(at + 7, file.err.find('\n', at) - at - 7);
        const Result set = host.ctl({"set", "enabled=" + typed});
        EXPECT_EQ(set.exit_code, 1) << set.describe();
        EXPECT_EQ(set.err, "kextconfctl: nothing was changed:\n  " + words + "\n") << typed;
    }
    EXPECT_EQ(generation(host), 1u);
    const Result ok = host.ctl({"set", "enabled=false", "label=\"quoted as in the file\""});
    EXPECT_EQ(ok.exit_code, 0) << ok.describe();
    EXPECT_TRUE(wait_for_state(host, 2, {{"enabled", false}, {"label", "quoted as in the file"}}));
}

// Setting what the kext already holds is no transaction: the generation
// stays, and the output says so.
TEST_F(Ctl, SetOfHeldValuesChangesNothing)
{
    ASSERT_EQ(host.ctl({"set", "max_clients=77"}).exit_code, 0);
    ASSERT_EQ(generation(host), 2u);
    const Result again = host.ctl({"set", "max_clients=77"});
    EXPECT_EQ(again.exit_code, 0) << again.describe();
    EXPECT_EQ(again.out, "org.kextconf.reference already holds this value: nothing changed (generation 2)\n");
    EXPECT_EQ(again.err, "");
    const Result defaults =
        host.ctl({"--json", "set", "max_clients=77",
                  "log_level=" + std::string(kReferenceDefaults.at("log_level").get<std::string>())});
    EXPECT_EQ(defaults.exit_code, 0) << defaults.describe();
    EXPECT_EQ(parse(defaults).value("changed", -1), 0) << defaults.out;
    EXPECT_EQ(parse(defaults).value("generation", 0), 2) << defaults.out;
    EXPECT_EQ(generation(host), 2u);
    // One value that differs makes it a transaction again.
    const Result one = host.ctl({"set", "max_clients=77", "label=new"});
    EXPECT_EQ(one.exit_code, 0) << one.describe();
    EXPECT_EQ(generation(host), 3u);
}

// Usage errors: exit 2, the bad word named with the nearest real one, and a
// JSON error object on stdout under --json.
TEST(CtlUsage, ErrorsNameTheWordAndSuggest)
{
    const auto ctl = [](std::vector<std::string> args) {
        args.insert(args.begin(), bin_path("kextconfctl"));
        return run(std::move(args));
    };
    for (auto [args, said] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"stat"}, "unknown command \"stat\"; did you mean \"status\"?"},
             {{"--kext", "org.example.x", "gett"}, "unknown command \"gett\"; did you mean \"get\"?"},
             {{"status", "--jsno"}, "unknown option \"--jsno\" for \"kextconfctl status\"; did you mean \"--json\"?"},
             {{"kext", "lod"}, "unknown command \"lod\" for \"kextconfctl kext\"; did you mean \"load\"?"},
             {{"config"}, "\"kextconfctl config\" needs a command: one of check"},
             // A word with terminal controls in it is not echoed raw.
             {{"\x1b[2J"}, "unknown command \"\\x1b[2J\" (kextconfctl --help lists them)"},
             {{"events", "--count", "0"},
              "--count: must be a whole number, 1 or more (got \"0\") (kextconfctl --help)"},
             {{"events", "--timeout=-1"},
              "--timeout: must be a number of seconds, 0 or more (got \"-1\") (kextconfctl --help)"},
         }) {
        const Result r = ctl(args);
        EXPECT_EQ(r.exit_code, 2) << r.describe();
        EXPECT_EQ(r.err, "kextconfctl: " + said + "\n") << r.describe();
        EXPECT_EQ(r.out, "") << r.describe();
        args.insert(args.begin(), "--json");
        const Result js = ctl(args);
        EXPECT_EQ(js.exit_code, 2) << js.describe();
        EXPECT_EQ(parse(js), json({{"error", said}, {"exit_status", 2}})) << js.describe();
    }
    const Result none = ctl({});
    EXPECT_EQ(none.exit_code, 2) << none.describe();
    EXPECT_EQ(none.err.rfind("kextconfctl: \"kextconfctl\" needs a command: one of status, get, describe, ", 0), 0u)
        << none.describe();
    EXPECT_EQ(ctl({"--help"}).exit_code, 0);
    EXPECT_EQ(ctl({"events", "--help"}).exit_code, 0);
}

// The defaults come from one place per platform (kextconf/defaults.hpp):
// kextconfctl and kextconfd show the same, and the hints fit the platform.
TEST(CtlUsage, DefaultsAndHintsAreThePlatformsOwn)
{
    const Result ctl_help = run({bin_path("kextconfctl"), "config", "check", "--help"});
    const Result daemon_help = run({bin_path("kextconfd"), "--help"});
    for (const Result* r : {&ctl_help, &daemon_help}) {
        EXPECT_EQ(r->exit_code, 0) << r->describe();
        EXPECT_NE(r->out.find("--state-dir TEXT=" KEXTCONF_DEFAULT_STATE_DIR "\n"), std::string::npos) << r->out;
    }
#ifndef __APPLE__
    EXPECT_EQ(std::string(KEXTCONF_DEFAULT_STATE_DIR), "/var/lib/kextconf");
#endif
    KextsimHost host;
    ASSERT_TRUE(host.ready());
    const Result reload = host.ctl({"reload"});
    EXPECT_EQ(reload.exit_code, 6) << reload.describe();
    EXPECT_NE(reload.err.find("start it: " KEXTCONF_START_DAEMON_HINT ")"), std::string::npos) << reload.describe();
#ifdef __APPLE__
    EXPECT_NE(reload.err.find("launchctl"), std::string::npos) << reload.describe();
#else
    EXPECT_EQ(reload.err.find("launchctl"), std::string::npos) << reload.describe();
    EXPECT_NE(reload.err.find("kextconfd --config"), std::string::npos) << reload.describe();
#endif
}

TEST_F(Ctl, BadValuesChangeNothing)
{
    // One bad value spoils the whole transaction, and every problem is named.
    const Result bad = host.ctl({"set", "max_clients=50", "sample_interval_ms=5", "log_level=wrn", "enabled=maybe"});
    EXPECT_TRUE(exited_saying(bad, 1,
                              {"nothing was changed", "5 is out of range [10, 60000]", "did you mean \"warn\"?",
                               "expected true or false, got \"maybe\""}));
    EXPECT_TRUE(wait_for_state(host, 1, json::object()));

    const Result unknown = host.ctl({"set", "max_client=5"});
    EXPECT_TRUE(exited_saying(unknown, 4, {"did you mean \"max_clients\"?"}));
    const Result noeq = host.ctl({"set", "max_clients"});
    EXPECT_TRUE(exited_saying(noeq, 2, {"is not NAME=VALUE"}));
    EXPECT_EQ(generation(host), 1u);
}

TEST(CtlAsNobody, StateChangesNeedRootAndSaySo)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to run kextconfctl as nobody";
    KextsimHost host;
    ASSERT_TRUE(host.ready());
    const Result set = host.ctl({"set", "max_clients=5"}, /*as_nobody=*/true);
    EXPECT_TRUE(exited_saying(set, 5, {"run as root (sudo kextconfctl set max_clients=5)"}));
    const Result unload = host.ctl({"kext", "unload"}, true);
    EXPECT_TRUE(exited_saying(unload, 5, {"sudo kextconfctl kext unload"}));
    // The configuration file is root's: --persist cannot replace it.
    const std::string config = host.dir().file("config.json");
    write_file(config, config_text({{"max_clients", 9}}));
    const Result persist = host.ctl({"--config", config, "set", "--persist", "max_clients=5"}, true);
    EXPECT_TRUE(exited_saying(persist, 5, {"run as root (sudo kextconfctl --config"}));
    EXPECT_NE(read_file(config).find("\"max_clients\":9"), std::string::npos) << read_file(config);
    EXPECT_TRUE(host.is_loaded());
    // Reads work for anyone.
    for (const auto& args : std::vector<std::vector<std::string>>{{"get"}, {"describe"}, {"kext", "status"}}) {
        const Result r = host.ctl(args, true);
        EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.describe();
    }
    EXPECT_EQ(generation(host), 1u);
}

TEST_F(Ctl, DescribeListsEveryTunable)
{
    const Result js = host.ctl({"--json", "describe"});
    ASSERT_EQ(js.exit_code, 0) << js.describe();
    const json t = parse(js).at("tunables");
    ASSERT_EQ(t.size(), kReferenceDefaults.size()) << js.out;
    for (const auto& d : t) {
        ASSERT_TRUE(kReferenceDefaults.contains(d.at("name").get<std::string>())) << d.dump();
        EXPECT_EQ(d.at("default"), kReferenceDefaults.at(d.at("name").get<std::string>())) << d.dump();
        EXPECT_FALSE(d.at("help").get<std::string>().empty()) << d.dump();
    }
    EXPECT_EQ(t[1].at("type"), "uint64");
    EXPECT_EQ(t[1].at("unit"), "clients");
    EXPECT_EQ(t[2].at("values"), json({"error", "warn", "info", "debug"}));

    const Result text = host.ctl({"describe"});
    ASSERT_EQ(text.exit_code, 0) << text.describe();
    EXPECT_NE(text.out.find("sample_interval_ms (int64, ms)\n"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("values: [10, 60000]; default 1000"), std::string::npos) << text.out;

    const Result all = host.ctl({"--json", "get"});
    EXPECT_EQ(parse(all), kReferenceDefaults) << all.describe();
}

TEST_F(Ctl, SchemaIsTheRunningKextsTunables)
{
    const Result r = host.ctl({"schema"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const json schema = parse(r);
    EXPECT_EQ(schema.value("$schema", ""), "https://json-schema.org/draft/2020-12/schema") << r.out;
    const json props = schema.at("properties").at("tunables").at("properties");
    const json described = parse(host.ctl({"--json", "describe"})).at("tunables");
    ASSERT_EQ(props.size(), described.size()) << r.out;
    for (const auto& d : described) {
        const json& p = props.at(d.at("name").get<std::string>());
        EXPECT_EQ(p.at("x-kextconf").at("type"), d.at("type")) << p.dump();
        EXPECT_EQ(p.value("description", ""), d.at("help")) << p.dump();
    }
    const std::string out = host.dir().file("schema.json");
    const Result w = host.ctl({"schema", "-o", out});
    ASSERT_EQ(w.exit_code, 0) << w.describe();
    EXPECT_EQ(json::parse(read_file(out)), schema);
}

TEST_F(CtlWithoutKext, NamesTheFix)
{
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"get"}, {"describe"}, {"schema"}, {"set", "label=x"}}) {
        const Result r = host.ctl(args);
        EXPECT_EQ(r.exit_code, 3) << args[0] << ": " << r.describe();
        EXPECT_NE(r.err.find("the kext is not loaded: kextconfctl kext load"), std::string::npos) << r.describe();
    }
    const Result js = host.ctl({"--json", "get", "label"});
    EXPECT_EQ(js.exit_code, 3);
    EXPECT_EQ(parse(js).value("loaded", true), false) << js.describe();
}

TEST_F(Ctl, KextLoadUnloadStatus)
{
    ASSERT_TRUE(host.wait_no_clients());
    Result r = host.ctl({"kext", "unload"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_FALSE(host.is_loaded());
    r = host.ctl({"kext", "status"});
    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_NE(r.out.find("not loaded (kextconfctl kext load)"), std::string::npos) << r.describe();
    r = host.ctl({"kext", "unload"});
    EXPECT_EQ(r.exit_code, 3) << r.describe();

    r = host.ctl({"kext", "load", "/nonexistent/Nothing.kext"});
    EXPECT_TRUE(exited_saying(r, 1, {"cannot load /nonexistent/Nothing.kext"}));

    r = host.ctl({"kext", "load", kext_bundle()});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(host.is_loaded());
    r = host.ctl({"--json", "kext", "status"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(parse(r).value("kext_version", ""), "0.1.0") << r.describe();
    EXPECT_EQ(parse(r).value("tunables", 0u), kReferenceDefaults.size()) << r.describe();
}

TEST_F(Ctl, ConfigCheckReportsWhatKextconfdReports)
{
    const std::string good = host.dir().file("good.json");
    write_file(good, config_text({{"max_clients", 9}}));
    Result r = host.ctl({"config", "check", good});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find(good + ": OK (schema: the running kext org.kextconf.reference"), std::string::npos)
        << r.describe();

    const std::string bad = host.dir().file("bad.json");
    write_file(bad, config_text({{"max_clients", 99999}, {"lable", "x"}}));
    r = host.ctl({"config", "check", bad});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    const Result d = run({bin_path("kextconfd"), "--check", "--config", bad}, {host.env(), false});
    EXPECT_EQ(d.exit_code, 1) << d.describe();
    EXPECT_EQ(r.err, d.err) << "kextconfctl and kextconfd --check disagree";
    EXPECT_NE(r.err.find(bad + ":4:"), std::string::npos) << r.describe();
    EXPECT_NE(r.err.find("did you mean \"label\"?"), std::string::npos) << r.describe();

    r = host.ctl({"--json", "config", "check", bad});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(parse(r).value("ok", true), false) << r.describe();
    EXPECT_EQ(parse(r).value("verdict", ""), "invalid") << r.describe();
    ASSERT_EQ(parse(r)["errors"].size(), 2u) << r.describe();
    EXPECT_EQ(parse(r)["errors"][0].value("line", 0), 4) << r.describe(); // file order
    EXPECT_EQ(r.err, d.err);

    // Without the kext: the schema from `kextconfctl schema` checks the values.
    const std::string schema = host.dir().file("schema.json");
    ASSERT_EQ(host.ctl({"schema", "-o", schema}).exit_code, 0);
    ASSERT_TRUE(host.wait_no_clients());
    ASSERT_EQ(host.kextsim({"unload", kReferenceBundleId}).exit_code, 0);
    r = host.ctl({"config", "check", "--schema", schema, bad});
    EXPECT_TRUE(exited_saying(r, 1, {"99999 is out of range"}));
    r = host.ctl({"config", "check", "--state-dir", host.dir().file("nostate"), good});
    EXPECT_EQ(r.exit_code, 3) << r.describe(); // the values were not checked
    EXPECT_NE(r.out.find("values NOT checked"), std::string::npos) << r.describe();
    r = host.ctl({"--json", "config", "check", "--state-dir", host.dir().file("nostate"), good});
    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_EQ(parse(r).value("verdict", ""), "unchecked") << r.describe();
    EXPECT_EQ(parse(r).value("values_checked", true), false) << r.describe();
    r = host.ctl({"config", "check", "--syntax-only", "--state-dir", host.dir().file("nostate"), good});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("syntax and structure only"), std::string::npos) << r.describe();
}

TEST(CtlEvents, DecodedAndGapsShownAsDrops)
{
    // The kext's 6th kev_msg_post fails: its sequence number is consumed, so
    // a listener sees a gap, and the kext reports the loss in an overflow
    // event. (1: started, at boot; then per `set`: client connected, tunable
    // changed, applied, client disconnected.)
    KextsimHost host(kext_bundle(), kReferenceBundleId, {"--fail", "event:6"});
    ASSERT_TRUE(host.ready());
    Process ev({bin_path("kextconfctl"), "--json", "events", "--follow"}, SpawnOptions{host.env(), false});
    ASSERT_TRUE(ev.wait_for_err("listening to org.kextconf.reference's events", 5s)) << ev.describe();
    constexpr int kSets = 4;
    for (int i = 0; i < kSets; ++i)
        ASSERT_EQ(host.ctl({"set", "label=e" + std::to_string(i)}).exit_code, 0);
    std::vector<json> items;
    const auto count = [&](const std::string& kind) {
        return std::count_if(items.begin(), items.end(), [&](const json& i) { return i.value("event", "") == kind; });
    };
    ASSERT_TRUE(wait_until(
        [&] {
            items.clear();
            std::istringstream lines(ev.out());
            for (std::string line; std::getline(lines, line);)
                items.push_back(json::parse(line, nullptr, false));
            return count("applied") == kSets;
        },
        5s))
        << ev.describe();
    ev.kill();
    // Every commit's applied event, generations 2.. in order.
    std::vector<int> generations;
    for (const auto& i : items)
        if (i.value("event", "") == "applied")
            generations.push_back(i.value("generation", 0));
    EXPECT_EQ(generations, std::vector<int>({2, 3, 4, 5})) << ev.out();
    EXPECT_EQ(count("tunable-changed"), kSets) << ev.out();
    // Exactly one gap, of one event (seq 6), right before the overflow report.
    ASSERT_EQ(count("dropped"), 1) << ev.out();
    const auto drop =
        std::find_if(items.begin(), items.end(), [](const json& i) { return i.value("event", "") == "dropped"; });
    EXPECT_EQ(drop->value("lost", 0), 1) << ev.out();
    ASSERT_NE(drop + 1, items.end()) << ev.out();
    EXPECT_EQ((drop + 1)->value("event", ""), "overflow") << ev.out();
    EXPECT_EQ((drop + 1)->value("seq", 0), 7) << ev.out();
    EXPECT_EQ((drop + 1)->value("lost", 0), 1) << ev.out();
    EXPECT_EQ(count("client-connected"), kSets - 1) << "one of them was the lost event\n" << ev.out();

    // Text form: a set's four events, then exit.
    Process four({bin_path("kextconfctl"), "events", "-n", "4", "--timeout", "5"}, SpawnOptions{host.env(), false});
    ASSERT_TRUE(four.wait_for_err("listening", 5s)) << four.describe();
    ASSERT_EQ(host.ctl({"set", "max_clients=3"}).exit_code, 0);
    ASSERT_TRUE(four.wait(5s)) << four.describe();
    EXPECT_EQ(four.exit_code(), 0) << four.describe();
    EXPECT_NE(four.out().find(") client connected: pid "), std::string::npos) << four.describe();
    EXPECT_NE(four.out().find(") tunable changed: max_clients at generation 6"), std::string::npos) << four.describe();
    EXPECT_NE(four.out().find(") applied: generation 6, hash "), std::string::npos) << four.describe();
    EXPECT_NE(four.out().find(") client disconnected: "), std::string::npos) << four.describe();
    EXPECT_EQ(four.out().find(" 1 clients"), std::string::npos) << "one client, not one clients: " << four.describe();
}

TEST_F(Ctl, PersistEditsTheFileKeepingComments)
{
    const std::string config = host.dir().file("config.json");
    const std::string text = "// site settings\n{\n    \"kext\": \"org.kextconf.reference\", // ours\n"
                             "    \"tunables\": {\n        \"label\": \"a\", /* keep me */\n"
                             "        \"max_clients\": 7\n    }\n}\n";
    write_file(config, text);
    ::chmod(config.c_str(), 0640);
    // No daemon to reload: the file is saved anyway, and the status says so.
    const Result r = host.ctl({"--config", config, "--daemon-socket", host.dir().file("none.sock"), "set", "--persist",
                               "max_clients=12", "enabled=false"});
    EXPECT_EQ(r.exit_code, 6) << r.describe();
    EXPECT_NE(r.out.find("saved " + config + "\n"), std::string::npos) << r.describe();
    EXPECT_NE(r.err.find("kextconfd is not running"), std::string::npos) << r.describe();
    EXPECT_EQ(read_file(config), "// site settings\n{\n    \"kext\": \"org.kextconf.reference\", // ours\n"
                                 "    \"tunables\": {\n        \"enabled\": false,\n        \"label\": \"a\", /* keep "
                                 "me */\n        \"max_clients\": 12\n    }\n}\n");
    struct stat st {};
    ASSERT_EQ(::stat(config.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u) << "the mode survives the atomic replace";
    EXPECT_EQ(generation(host), 1u) << "--persist does not touch the kext itself";

    // A value the kext would refuse never reaches the file.
    const std::string before = read_file(config);
    const Result bad = host.ctl({"--config", config, "set", "--persist", "max_clients=0"});
    EXPECT_TRUE(exited_saying(bad, 1, {"out of range"}));
    EXPECT_EQ(read_file(config), before);
    EXPECT_EQ(run({"/bin/sh", "-c", "ls " + host.dir().path() + " | grep -c kextconfctl"}).out, "0\n")
        << "no temporary file left behind";
}

TEST_F(Ctl, DaemonStatusReloadAndPersist)
{
    const std::string config = host.dir().file("config.json");
    write_file(config, config_text({{"max_clients", 9}}));
    auto d = start_daemon(host, config);
    ASSERT_TRUE(wait_for_state(host, 2, {{"max_clients", 9}})) << d->describe();
    const std::string sock = host.dir().file("kextconfd.sock");

    Result r = host.ctl({"--daemon-socket", sock, "--json", "status"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    json daemon = parse(r).at("daemon");
    EXPECT_EQ(daemon.value("available", false), true) << r.out;
    EXPECT_EQ(daemon.at("config").value("state", ""), "good") << r.out;
    EXPECT_EQ(daemon.at("applied").value("generation", 0), 2) << r.out;
    r = host.ctl({"--daemon-socket", sock, "status"});
    EXPECT_NE(r.out.find("drift: none"), std::string::npos) << r.describe();
    if (::geteuid() == 0) {
        r = host.ctl({"--daemon-socket", sock, "--json", "status"}, /*as_nobody=*/true);
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        EXPECT_EQ(parse(r).at("daemon").value("available", true), false) << r.out;
        EXPECT_NE(parse(r).at("daemon").value("reason", "").find("root"), std::string::npos) << r.out;
        r = host.ctl({"--daemon-socket", sock, "reload"}, /*as_nobody=*/true);
        EXPECT_TRUE(exited_saying(r, 5, {"run as root (sudo kextconfctl"}));
    }

    // A transient set: the note names the daemon's own file and promises no revert.
    r = host.ctl({"set", "max_clients=10"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.err.find("kextconfd reports it as drift from " + config + " and leaves it"), std::string::npos)
        << r.describe();
    ASSERT_EQ(host.ctl({"reload"}).exit_code, 0);
    ASSERT_TRUE(wait_for_state(host, 4, {{"max_clients", 9}})) << d->describe();

    // --persist without --config edits the file the daemon says it uses.
    r = host.ctl({"--daemon-socket", sock, "set", "--persist", "label=persisted"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("saved " + config + "\n"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("reloaded and applied: 1 changed (label)"), std::string::npos) << r.describe();
    EXPECT_TRUE(wait_for_state(host, 5, {{"max_clients", 9}, {"label", "persisted"}})) << d->describe();

    // A bad file: reload prints its errors and fails; the kext keeps the good one.
    replace_file(config, config_text({{"max_clients", -1}}));
    r = host.ctl({"--daemon-socket", sock, "reload"});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find(config + ":4:"), std::string::npos) << r.describe();
    EXPECT_TRUE(wait_for_state(host, 5, {{"max_clients", 9}, {"label", "persisted"}})) << d->describe();
    stop_daemon(*d);
    r = host.ctl({"--daemon-socket", sock, "reload"});
    EXPECT_EQ(r.exit_code, 6) << r.describe();
    // No daemon to ask and no --config: --persist says which file it needs.
    r = host.ctl({"set", "--persist", "label=nowhere"});
    EXPECT_EQ(r.exit_code, 6) << r.describe();
    EXPECT_NE(r.err.find("kextconfd could not be asked which: kextconfd is not running"), std::string::npos)
        << r.describe();
    EXPECT_NE(r.err.find("name the file with --config FILE"), std::string::npos) << r.describe();
    EXPECT_EQ(read_file(config).find("nowhere"), std::string::npos);
}

// `status` prints what is true in each state: in sync, drifted (strings
// quoted), the file gone, the kext unloaded; one hash format everywhere.
TEST_F(Ctl, StatusSaysWhatIsTrue)
{
    const std::string config = host.dir().file("config.json");
    write_file(config, config_text({{"max_clients", 9}, {"label", "filed"}}));
    auto d = start_daemon(host, config);
    ASSERT_TRUE(wait_for_state(host, 2, {{"max_clients", 9}, {"label", "filed"}})) << d->describe();
    const std::string sock = host.dir().file("kextconfd.sock");

    Result r = host.ctl({"--daemon-socket", sock, "--json", "status"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const json j = parse(r);
    const std::string hash = j.value("config_hash", "");
    EXPECT_EQ(hash.size(), 16u) << r.out;
    EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << r.out;
    EXPECT_EQ(j.at("daemon").at("kext").value("config_hash", ""), hash) << r.out;
    EXPECT_EQ(j.at("daemon").at("applied").value("config_hash", ""), hash) << r.out;
    EXPECT_EQ(j.at("daemon").value("drift_state", ""), "in-sync") << r.out;
    r = host.ctl({"--daemon-socket", sock, "status"});
    EXPECT_NE(r.out.find("config hash " + hash + ", 1 client, "), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("config " + config + ": good (applying it; read "), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("last apply: generation 2, hash " + hash + ", 2 changed"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("drift: none (the kext holds the configuration in force)"), std::string::npos) << r.describe();

    ASSERT_EQ(host.ctl({"set", "label=by hand"}).exit_code, 0);
    r = host.ctl({"--daemon-socket", sock, "status"});
    EXPECT_NE(r.out.find("drift: label is \"by hand\" in the kext, \"filed\" in the file"), std::string::npos)
        << r.describe();
    EXPECT_EQ(r.out.find("drift: none"), std::string::npos) << r.describe();

    ASSERT_EQ(::unlink(config.c_str()), 0);
    EXPECT_EQ(host.ctl({"--daemon-socket", sock, "reload"}).exit_code, 1);
    r = host.ctl({"--daemon-socket", sock, "status"});
    EXPECT_NE(r.out.find("config " + config + ": missing (applying its last good content; missing since "),
              std::string::npos)
        << r.describe();
    EXPECT_EQ(r.out.find("applying it;"), std::string::npos) << r.describe();

    ASSERT_TRUE(host.wait_no_clients());
    ASSERT_EQ(host.kextsim({"unload", kReferenceBundleId}).exit_code, 0);
    r = host.ctl({"--daemon-socket", sock, "status"});
    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_NE(r.out.find("drift: not known (the kext is not loaded)"), std::string::npos) << r.describe();
    EXPECT_EQ(r.out.find("drift: none"), std::string::npos) << r.describe();
    r = host.ctl({"--daemon-socket", sock, "--json", "status"});
    EXPECT_EQ(parse(r).at("daemon").value("drift_state", ""), "kext-not-loaded") << r.out;
    stop_daemon(*d);
}

// A daemon that never applied anything says so, and does not claim the
// kext holds what the file says.
TEST_F(Ctl, StatusOfADaemonThatAppliedNothing)
{
    const std::string config = host.dir().file("config.json");
    write_file(config, config_text({{"max_clients", 5000}}));
    auto d = start_daemon(host, config);
    ASSERT_TRUE(d->wait_for_err("does not fit", 5s)) << d->describe();
    const std::string sock = host.dir().file("kextconfd.sock");
    Result r = host.ctl({"--daemon-socket", sock, "status"});
    EXPECT_NE(r.out.find("config " + config + ": bad (nothing applied; read "), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("last apply: none yet"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("drift: not known (nothing applied to this load of the kext)"), std::string::npos)
        << r.describe();
    r = host.ctl({"--daemon-socket", sock, "--json", "status"});
    EXPECT_EQ(parse(r).at("daemon").value("drift_state", ""), "not-applied") << r.out;
    EXPECT_EQ(parse(r).at("daemon").at("config").value("source", ""), "none") << r.out;
    stop_daemon(*d);
}

TEST_F(Ctl, StatusWithoutDaemonMarksItUnavailable)
{
    const Result r = host.ctl({"--daemon-socket", host.dir().file("none.sock"), "--json", "status"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const json d = parse(r).at("daemon");
    EXPECT_EQ(d.value("available", true), false) << r.out;
    EXPECT_NE(d.value("reason", "").find("kextconfd is not running"), std::string::npos) << r.out;
    const Result text = host.ctl({"--daemon-socket", host.dir().file("none.sock"), "status"});
    EXPECT_NE(text.out.find("kextconfd: unavailable: kextconfd is not running"), std::string::npos) << text.out;
}

} // namespace
