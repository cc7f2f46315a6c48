// Managed preferences (docs/fleet.md) through the real processes: kextsim
// hosting the reference kext, kextconfd with --managed-prefs-dir, and
// kextconfctl. The profile's values override the file's; `set` and
// `set --persist` refuse them (and the admin socket's set and persist too);
// installing, changing and removing the profile are each applied once,
// without a restart; a bad profile keeps the last good; status names each
// value's source and the profile file.
#include "daemon_helpers.hpp"
#include "process.hpp"
#include <kextconf/admin_protocol.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace kctest;
using nlohmann::json;
namespace admin = kextconf::admin;

constexpr const char* kDomain = "org.kextconf.kextconfd";
constexpr const char* kRefusal =
    "tunable \"max_clients\" is managed by your organisation's profile (org.kextconf.kextconfd)";

// An XML plist value, as an MDM profile's payload writes it.
std::string plist_value(const json& v)
{
    if (v.is_boolean())
        return v.get<bool>() ? "<true/>" : "<false/>";
    if (v.is_number_integer())
        return "<integer>" + v.dump() + "</integer>";
    if (v.is_string())
        return "<string>" + v.get<std::string>() + "</string>";
    std::string out = "<array>";
    for (const auto& e : v)
        out += plist_value(e);
    return out + "</array>";
}

std::string profile_text(const json& tunables)
{
    std::string t;
    for (const auto& [k, v] : tunables.items())
        t += "<key>" + k + "</key>" + plist_value(v) + "\n";
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
           "<key>Kext</key><string>org.kextconf.reference</string>\n<key>Tunables</key>\n<dict>\n" +
           t + "</dict>\n</dict>\n</plist>\n";
}

class DaemonManaged : public ManagedHostTest {
protected:
    std::unique_ptr<Process> start(const json& file_tunables)
    {
        write_file(config_, config_text(file_tunables));
        auto d = std::make_unique<Process>(std::vector<std::string>{bin_path("kextconfd"), "--config", config_,
                                                                    "--state-dir", state_dir_, "--managed-prefs-dir",
                                                                    managed_dir_, "--reload-debounce-ms", "100"},
                                           SpawnOptions{host_.env(), false});
        EXPECT_TRUE(wait_until([&] { return ::access(host_.admin_socket().c_str(), F_OK) == 0; }, 5s)) << d->describe();
        return d;
    }

    void install(const json& tunables) { replace_file(profile_, profile_text(tunables)); }

    json daemon_status() const
    {
        std::error_code ec;
        json s = admin::request(host_.admin_socket(), {{"v", admin::kVersion}, {"cmd", "status"}}, 5s, ec);
        EXPECT_FALSE(ec) << ec.message();
        return s;
    }

    const std::string config_ = etc_ + "/config.json";
    const std::string profile_ = managed_dir_ + "/" + kDomain + ".plist";
    const std::string state_dir_ = host_.dir().file("state");
};

TEST_F(DaemonManaged, ProfileOverridesFileAndRefusesLocalChanges)
{
    install({{"max_clients", 200}});
    const json file = {{"max_clients", 100}, {"label", "from-file"}};
    auto d = start(file);
    ASSERT_TRUE(wait_for_state(host_, 2, {{"max_clients", 200}, {"label", "from-file"}})) << d->describe();

    const json s = daemon_status();
    EXPECT_EQ(s.at("sources").at("max_clients"), "managed");
    EXPECT_EQ(s.at("sources").at("label"), "file");
    EXPECT_EQ(s.at("sources").at("enabled"), "default");
    const json& m = s.at("managed");
    EXPECT_EQ(m.at("domain"), kDomain);
    EXPECT_EQ(m.at("path"), profile_);
    EXPECT_EQ(m.at("state"), "good");
    EXPECT_TRUE(m.at("changed_at").is_string()) << m.dump();
    EXPECT_EQ(m.at("tunables"), json::array({"max_clients"}));

    // kextconfctl set and set --persist: refused on the managed tunable, with nothing changed.
    const std::string before = read_file(config_);
    for (const auto& args : {std::vector<std::string>{"set", "max_clients=5"},
                             std::vector<std::string>{"set", "--persist", "max_clients=5"}}) {
        const Result r = host_.ctl(args);
        EXPECT_TRUE(exited_saying(r, 1, {kRefusal}));
    }
    EXPECT_EQ(read_file(config_), before);
    // The admin socket's set and persist (KextController's requests) likewise.
    for (const char* cmd : {"set", "persist"}) {
        std::error_code ec;
        const json r = admin::request(host_.admin_socket(),
                                      {{"v", admin::kVersion}, {"cmd", cmd}, {"values", {{"max_clients", 5}}}}, 5s, ec);
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(r.at("ok"), false) << r.dump();
        ASSERT_TRUE(r.contains("errors")) << r.dump();
        EXPECT_NE(r.at("errors").at(0).get<std::string>().find(kRefusal), std::string::npos) << r.dump();
    }
    EXPECT_TRUE(wait_for_state(host_, 2, {{"max_clients", 200}, {"label", "from-file"}}, 1s));

    // Others are allowed: a transient set shows as "transient".
    const Result set = host_.ctl({"set", "label=by-hand"});
    ASSERT_EQ(set.exit_code, 0) << set.describe();
    ASSERT_TRUE(wait_until([&] { return daemon_status().at("sources").at("label") == "transient"; }, 5s))
        << daemon_status().dump();
    const Result text = host_.ctl({"status"});
    EXPECT_NE(text.out.find("(managed)"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("profile org.kextconf.kextconfd (" + profile_ + "): good"), std::string::npos) << text.out;
    const Result describe = host_.ctl({"--json", "describe"});
    ASSERT_EQ(describe.exit_code, 0) << describe.describe();
    const json described = json::parse(describe.out); // kept: a range-for over a temporary's member dangles
    for (const auto& t : described.at("tunables"))
        if (t.at("name") == "max_clients") {
            EXPECT_EQ(t.at("source"), "managed") << t.dump();
        }

    // set --persist of a tunable the profile does not manage edits the file.
    const Result persist = host_.ctl({"set", "--persist", "sample_interval_ms=250"});
    EXPECT_EQ(persist.exit_code, 0) << persist.describe();
    EXPECT_NE(read_file(config_).find("\"sample_interval_ms\": 250"), std::string::npos) << read_file(config_);
    stop_daemon(*d);
}

TEST_F(DaemonManaged, InstallChangeAndRemoveAreEachAppliedOnce)
{
    const json file = {{"max_clients", 100}, {"log_level", "warn"}};
    auto d = start(file);
    ASSERT_TRUE(wait_for_state(host_, 2, file)) << d->describe();
    EXPECT_EQ(daemon_status().at("managed").at("state"), "missing");

    install({{"max_clients", 300}, {"blocked_ports", {135, 445}}});
    ASSERT_TRUE(wait_for_state(host_, 3, {{"max_clients", 300}, {"log_level", "warn"}, {"blocked_ports", {135, 445}}}))
        << d->describe();
    install({{"max_clients", 301}});
    ASSERT_TRUE(wait_for_state(host_, 4, {{"max_clients", 301}, {"log_level", "warn"}})) << d->describe();
    ASSERT_EQ(::unlink(profile_.c_str()), 0);
    ASSERT_TRUE(wait_for_state(host_, 5, file)) << d->describe();

    const json s = daemon_status();
    EXPECT_EQ(s.at("daemon").at("pid"), d->pid()) << "no restart";
    EXPECT_EQ(s.at("counters").at("applies"), 4) << "startup, install, change, removal: once each";
    EXPECT_EQ(s.at("managed").at("state"), "missing");
    EXPECT_EQ(s.at("sources").at("max_clients"), "file");
    stop_daemon(*d);
}

// macOS makes /Library/Managed Preferences only when the first profile is
// installed: a daemon started before that sees the directory appear and then
// the profile in it, without a restart.
TEST_F(DaemonManaged, FirstProfileIsAppliedWhenItsDirectoryAppearsLater)
{
    ASSERT_EQ(::rmdir(managed_dir_.c_str()), 0);
    const json file = {{"max_clients", 100}};
    auto d = start(file);
    ASSERT_TRUE(wait_for_state(host_, 2, file)) << d->describe();
    EXPECT_TRUE(d->wait_for_err("does not exist yet; watching for it", 5s)) << d->describe();

    ASSERT_EQ(::mkdir(managed_dir_.c_str(), 0755), 0);
    install({{"max_clients", 300}});
    ASSERT_TRUE(wait_for_state(host_, 3, {{"max_clients", 300}})) << d->describe();
    // And it is watched from then on: a change and a removal are applied too.
    install({{"max_clients", 301}});
    ASSERT_TRUE(wait_for_state(host_, 4, {{"max_clients", 301}})) << d->describe();
    ASSERT_EQ(::unlink(profile_.c_str()), 0);
    ASSERT_TRUE(wait_for_state(host_, 5, file)) << d->describe();
    EXPECT_EQ(daemon_status().at("daemon").at("pid"), d->pid()) << "no restart";
    stop_daemon(*d);
}

TEST_F(DaemonManaged, BadOrUnsafeProfileKeepsTheLastGood)
{
    install({{"max_clients", 200}});
    auto d = start({{"label", "f"}});
    ASSERT_TRUE(wait_for_state(host_, 2, {{"max_clients", 200}, {"label", "f"}})) << d->describe();

    install({{"max_clients", "lots"}});
    const std::string wrong_type = std::string(kDomain) +
                                   ": error: Tunables.max_clients: expected an unsigned integer in [1, 1024], got "
                                   "the string \"lots\"";
    ASSERT_TRUE(wait_until([&] { return daemon_status().at("managed").at("state") == "bad"; }, 5s)) << d->describe();
    EXPECT_EQ(daemon_status().at("managed").at("errors"), json::array({wrong_type}));
    EXPECT_TRUE(d->wait_for_err(wrong_type, 1s)) << d->describe();
    EXPECT_TRUE(wait_for_state(host_, 2, {{"max_clients", 200}, {"label", "f"}}, 1s));
    // The profile in force still decides what set refuses.
    EXPECT_EQ(host_.ctl({"set", "max_clients=7"}).exit_code, 1);

    install({{"max_clients", 250}});
    ASSERT_TRUE(wait_for_state(host_, 3, {{"max_clients", 250}, {"label", "f"}})) << d->describe();
    // A profile others may write is refused (here: saved 0666 over the good one).
    const std::string tmp = profile_ + ".tmp";
    write_file(tmp, profile_text({{"max_clients", 260}}));
    ASSERT_EQ(::chmod(tmp.c_str(), 0666), 0);
    ASSERT_EQ(::rename(tmp.c_str(), profile_.c_str()), 0);
    ASSERT_TRUE(wait_until([&] { return daemon_status().at("managed").at("state") == "bad"; }, 5s)) << d->describe();
    const std::string err = daemon_status().at("managed").at("errors").at(0);
    EXPECT_NE(err.find("writable by group or others"), std::string::npos) << err;
    EXPECT_TRUE(wait_for_state(host_, 3, {{"max_clients", 250}, {"label", "f"}}, 1s));
    stop_daemon(*d);
}

TEST_F(DaemonManaged, AProfileThatDoesNotFitAtStartUpLeavesTheFilesValues)
{
    install({{"max_client", 5}});
    auto d = start({{"label", "only-file"}});
    ASSERT_TRUE(wait_for_state(host_, 2, {{"label", "only-file"}})) << d->describe();
    const json m = daemon_status().at("managed");
    EXPECT_EQ(m.at("state"), "bad");
    EXPECT_EQ(m.at("errors"),
              json::array({std::string(kDomain) +
                           ": error: Tunables.max_client: unknown tunable; did you mean \"max_clients\"?"}));
    EXPECT_EQ(m.at("tunables"), json::array());
    EXPECT_EQ(host_.ctl({"set", "max_clients=7"}).exit_code, 0) << "nothing is managed";
    stop_daemon(*d);
}

} // namespace
