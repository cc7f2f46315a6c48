// End-to-end tests: a real `kextsim boot` hosting the reference kext, the real
// kextconfd applying a file, and kextconfctl reading back through the query
// control, as an administrator would drive them.
#include "contract_client.hpp"
#include "daemon_helpers.hpp"
#include "process.hpp"

#include <kextconf/codec.hpp>
#include <kextsim/client.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <optional>
#include <regex>
#include <unistd.h>

namespace {

using namespace kctest;
using nlohmann::json;
namespace proto = kextconf::proto;

// The tunables the shipped config/config.json sets (comments allowed).
json shipped_tunables()
{
    return json::parse(read_file(source_dir() + "/config/config.json"), nullptr, true, true).at("tunables");
}

// The daemon's state directory defaults to one inside the host's per-test
// directory, so tests never share a saved last good configuration.
std::unique_ptr<Process> start_daemon(const KextsimHost& host, const std::string& config,
                                      const std::string& state_dir = "")
{
    return std::make_unique<Process>(std::vector<std::string>{bin_path("kextconfd"), "--config", config, "--state-dir",
                                                              state_dir.empty() ? host.dir().file("state") : state_dir},
                                     SpawnOptions{host.env(), false});
}

// Applies `tunables` with a first, good kextconfd run and stops it: the
// kext is then at generation 2 with those values.
void apply_good_config(const KextsimHost& host, const std::string& path, const json& tunables)
{
    write_file(path, config_text(tunables));
    auto d = start_daemon(host, path);
    ASSERT_TRUE(wait_for_state(host, 2, tunables)) << d->describe();
    stop_daemon(*d);
}

// The FNV hash the kext should report for the shipped file (proto.h).
std::string shipped_hash_hex()
{
    const std::vector<proto::Value> values = {
        proto::Value::of_bool(true),
        proto::Value::of_uint(128),
        proto::Value::of_enum(3),
        proto::Value::of_int(250),
        proto::Value::of_uint(0),
        proto::Value::of_uint(60000),
        proto::Value::of_string("kextconf demo"),
        proto::Value::of_ints({135, 137, 139, 445}),
        proto::Value::of_strings({"/usr/libexec", "/Library/Application Support/Example/bin"})};
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(proto::config_hash(values)));
    return buf;
}

// A kern_event listener for the reference kext's own events.
class KextEvents {
public:
    explicit KextEvents(const std::string& root)
    {
        sock_ = kextsim::SystemSocket::open(3 /* SOCK_RAW */, kextsim::kSysprotoEvent, root);
        if (!sock_) {
            ADD_FAILURE() << "event socket: " << std::strerror(errno);
            return;
        }
        kextsim::kev_vendor_code kv{};
        std::strcpy(kv.vendor_string, kReferenceBundleId);
        if (sock_->ioctl(kextsim::kSiocGKevVendor, &kv) != 0) {
            ADD_FAILURE() << "SIOCGKEVVENDOR: " << std::strerror(errno);
            sock_.reset();
            return;
        }
        kextsim::kev_request req{kv.vendor_code, KC_EVENT_CLASS, KC_EVENT_SUBCLASS};
        if (sock_->ioctl(kextsim::kSiocSKevFilt, &req) != 0) {
            ADD_FAILURE() << "SIOCSKEVFILT: " << std::strerror(errno);
            sock_.reset();
        }
    }

    // The next event within `timeout`.
    std::optional<proto::Event> next(Millis timeout)
    {
        if (!sock_)
            return std::nullopt;
        const auto rec = recv_record(*sock_, 512, timeout);
        kextsim::kern_event_msg_header h{};
        if (!rec || rec->size() < sizeof h)
            return std::nullopt;
        std::memcpy(&h, rec->data(), sizeof h);
        const auto* data = reinterpret_cast<const std::uint8_t*>(rec->data()) + sizeof h;
        return proto::decode_event(h.event_code, proto::ByteView(data, rec->size() - sizeof h));
    }

private:
    std::unique_ptr<kextsim::SystemSocket> sock_;
};

// Each test boots its own host with the reference kext (E2EWithoutKext: none).
using E2E = HostTest;
class E2EWithoutKext : public HostTest {
protected:
    E2EWithoutKext() : HostTest(/*load_reference=*/false) {}
};

TEST_F(E2E, AppliesShippedConfig)
{
    const std::string config = host.dir().file("config.json");
    write_file(config, read_file(source_dir() + "/config/config.json"));
    const json tunables = shipped_tunables();

    auto d = start_daemon(host, config);
    ASSERT_TRUE(wait_for_state(host, 2, tunables)) << d->describe();

    const auto st = status_json(host);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->at("loaded"), true);
    EXPECT_EQ(st->at("kext"), kReferenceBundleId);
    EXPECT_EQ(st->at("protocol_version"), KC_PROTO_VERSION);
    EXPECT_EQ(st->at("config_hash"), shipped_hash_hex()) << "the kext holds exactly what the file says";

    const Result get = host.ctl({"get", "label"});
    EXPECT_EQ(get.exit_code, 0) << get.describe();
    EXPECT_EQ(get.out, "\"kextconf demo\"\n");

    const Result text = host.ctl({"status"});
    EXPECT_EQ(text.exit_code, 0) << text.describe();
    EXPECT_NE(text.out.find("loaded"), std::string::npos) << text.out;
    EXPECT_EQ(text.out.find("not loaded"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("generation 2,"), std::string::npos) << text.out;

    // Reading needs no privilege: the query control is open to anyone.
    if (::geteuid() == 0) {
        const Result nobody = host.ctl({"--json", "status"}, /*as_nobody=*/true);
        EXPECT_EQ(nobody.exit_code, 0) << nobody.describe();
        EXPECT_EQ(json::parse(nobody.out, nullptr, false).value("generation", 0), 2) << nobody.describe();
    }

    EXPECT_NE(d->err().find("applied " + config), std::string::npos) << d->describe();
    stop_daemon(*d);
}

// With no saved last good copy (a fresh state directory), a file with a
// syntax error at start-up is reported and leaves the kext alone; the daemon
// stays up and applies the file once it is fixed (DESIGN rule 3).
TEST_F(E2E, SyntaxErrorAtStartupWaitsForFixAndLeavesKextUntouched)
{
    const std::string good = host.dir().file("good.json");
    const json tunables = {{"max_clients", 100}, {"label", "first good run"}};
    apply_good_config(host, good, tunables);
    if (HasFatalFailure())
        return;
    const auto before = status_json(host);
    ASSERT_TRUE(before);

    const std::string bad = host.dir().file("bad.json");
    write_file(bad, "{\n"
                    "    \"kext\": \"org.kextconf.reference\",\n"
                    "    \"tunables\": { \"max_clients\": 7,, \"label\": \"broken\" }\n"
                    "}\n");
    auto d = start_daemon(host, bad, host.dir().file("fresh-state"));
    ASSERT_TRUE(d->wait_for_err("not applied", 5s)) << d->describe();
    const std::regex diag(std::regex_replace(bad, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                          R"(:3:[0-9]+: error: )");
    const std::string err = d->err();
    EXPECT_TRUE(std::regex_search(err, diag)) << "want " << bad << ":3:COL: error: ...\n" << d->describe();
    EXPECT_TRUE(d->running()) << d->describe();

    ASSERT_TRUE(wait_for_state(host, 2, tunables, 0ms));
    const auto after = status_json(host);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->at("config_hash"), before->at("config_hash"));
    EXPECT_EQ(after->at("generation"), before->at("generation")) << "no transaction was committed";

    const json fixed = {{"max_clients", 7}, {"label", "fixed"}};
    replace_file(bad, config_text(fixed));
    EXPECT_TRUE(wait_for_state(host, 3, fixed)) << d->describe();
    stop_daemon(*d);
}

struct SemanticCase {
    const char* name;
    json tunables;
    const char* diagnostic;
};

// Names the case in test listings (ctest shows "# GetParam() = ...").
void PrintTo(const SemanticCase& c, std::ostream* os)
{
    *os << c.name;
}

class E2ESemanticError : public HostTest, public ::testing::WithParamInterface<SemanticCase> {};

TEST_P(E2ESemanticError, NothingApplied)
{
    const json good_tunables = {{"max_clients", 100}, {"label", "first good run"}};
    apply_good_config(host, host.dir().file("good.json"), good_tunables);
    if (HasFatalFailure())
        return;

    const std::string bad = host.dir().file("semantic.json");
    write_file(bad, config_text(GetParam().tunables));
    auto d = start_daemon(host, bad);
    ASSERT_TRUE(d->wait_for_err("not applied", 5s)) << d->describe();
    EXPECT_NE(d->err().find(bad + ":"), std::string::npos) << d->describe();
    EXPECT_NE(d->err().find(GetParam().diagnostic), std::string::npos) << d->describe();
    // Not even the valid part of the file (label) was applied.
    EXPECT_TRUE(wait_for_state(host, 2, good_tunables, 0ms));
    stop_daemon(*d);
}

INSTANTIATE_TEST_SUITE_P(
    E2E, E2ESemanticError,
    ::testing::Values(
        SemanticCase{"OutOfRange", {{"max_clients", 5000}, {"label", "semantic"}}, "out of range"},
        SemanticCase{"UnknownTunable", {{"max_client", 5}, {"label", "semantic"}}, "did you mean \"max_clients\""}),
    [](const ::testing::TestParamInfo<SemanticCase>& i) { return std::string(i.param.name); });

TEST_F(E2E, ReappliesWhenKextIsReloaded)
{
    const std::string config = host.dir().file("config.json");
    const json tunables = shipped_tunables();
    write_file(config, config_text(tunables));
    auto d = start_daemon(host, config);
    ASSERT_TRUE(wait_for_state(host, 2, tunables)) << d->describe();
    const auto first = status_json(host);
    ASSERT_TRUE(first);
    KextEvents events(host.root());

    // The daemon holds no connection when idle, so the kext can go.
    ASSERT_TRUE(host.wait_no_clients());
    const Result unload = host.kextsim({"unload", kReferenceBundleId});
    ASSERT_EQ(unload.exit_code, 0) << unload.describe() << "\nkextconfd: " << d->describe();
    EXPECT_EQ(unload.out.find("problems"), std::string::npos) << unload.out;
    const Result gone = host.ctl({"status"});
    EXPECT_EQ(gone.exit_code, 3) << gone.describe();
    ASSERT_TRUE(d->running()) << d->describe();

    const Result load = host.kextsim({"load", kext_bundle()});
    ASSERT_EQ(load.exit_code, 0) << load.describe();
    ASSERT_TRUE(wait_for_state(host, 2, tunables)) << d->describe();
    const auto second = status_json(host);
    ASSERT_TRUE(second);
    EXPECT_NE(second->at("load_id"), first->at("load_id"));

    // The new load started from its defaults at generation 1, and the daemon
    // (the same process, never restarted) committed the file on top: one
    // commit to generation 2 that changed all six tunables the file sets
    // away from their defaults. (The daemon reacts to KEV_CTL_REGISTERED, so
    // its commit may race the kext's own "started" event.)
    std::optional<proto::Event> started, applied;
    const auto new_load = second->at("load_id").get<std::uint32_t>();
    std::uint32_t min_seq = ~0u, changed = 0;
    while (!(started && applied)) {
        auto e = events.next(5s);
        ASSERT_TRUE(e) << "started " << started.has_value() << ", applied " << applied.has_value();
        if (e->hdr.load_id != new_load)
            continue;
        min_seq = std::min(min_seq, e->hdr.seq);
        if (e->code == KC_EV_STARTED)
            started = e;
        else if (e->code == KC_EV_APPLIED)
            applied = e;
        else if (e->code == KC_EV_TUNABLE_CHANGED)
            ++changed;
        else if (e->code == KC_EV_OVERFLOW)
            // Query-control connects (this test's status polls) have their
            // own 16/s budget; on a busy machine some are dropped. Only those
            // may be: the tunable-changed count below stays exact.
            EXPECT_EQ(e->overflow.reason, KC_OVF_RATE_LIMIT) << "an event lost for another reason";
        else if (e->code != KC_EV_CLIENT_CONNECTED && e->code != KC_EV_CLIENT_DISCONNECTED)
            ADD_FAILURE() << "unexpected event " << e->code << " on the new load";
    }
    EXPECT_EQ(applied->generation, 2u);
    EXPECT_EQ(applied->changed, 6u);
    EXPECT_EQ(changed, 6u) << "one tunable-changed event per changed tunable, before applied";
    EXPECT_EQ(min_seq, 1u) << "seq restarts at 1 for each load";
    if (started->hdr.seq == 1) {
        EXPECT_EQ(started->generation, 1u);
    }
    EXPECT_TRUE(d->running());
    stop_daemon(*d);
}

TEST_F(E2E, SighupReloadsAndKeepsLastGoodConfig)
{
    const std::string config = host.dir().file("config.json");
    json tunables = shipped_tunables();
    write_file(config, config_text(tunables));
    auto d = start_daemon(host, config);
    ASSERT_TRUE(wait_for_state(host, 2, tunables)) << d->describe();

    tunables["max_clients"] = 256;
    tunables["label"] = "reloaded";
    replace_file(config, config_text(tunables));
    ASSERT_TRUE(d->signal(SIGHUP));
    ASSERT_TRUE(wait_for_state(host, 3, tunables)) << d->describe();

    replace_file(config, "{\n  \"kext\": \"org.kextconf.reference\",\n  \"tunables\": { \"label\": }\n}\n");
    ASSERT_TRUE(d->signal(SIGHUP));
    ASSERT_TRUE(d->wait_for_err("reload refused", 5s)) << d->describe();
    EXPECT_NE(d->err().find(config + ":3:"), std::string::npos) << d->describe();
    EXPECT_TRUE(d->running()) << d->describe();
    EXPECT_TRUE(wait_for_state(host, 3, tunables, 0ms));
    stop_daemon(*d);
}

// A reload whose file parses but does not fit the kext's schema must not
// replace the last good configuration: the next kext load still gets the
// good values (DESIGN rules 3 and 5).
TEST_F(E2E, SchemaInvalidReloadKeepsLastGoodAcrossKextReload)
{
    const std::string config = host.dir().file("config.json");
    const json good = {{"max_clients", 128}, {"label", "good"}};
    write_file(config, config_text(good));
    auto d = start_daemon(host, config);
    ASSERT_TRUE(wait_for_state(host, 2, good)) << d->describe();

    replace_file(config, config_text({{"max_clients", 5000}, {"label", "bad"}}));
    ASSERT_TRUE(d->signal(SIGHUP));
    ASSERT_TRUE(d->wait_for_err("(reload); not applied", 5s)) << d->describe();
    ASSERT_TRUE(wait_for_state(host, 2, good, 0ms));

    ASSERT_TRUE(host.wait_no_clients());
    ASSERT_EQ(host.kextsim({"unload", kReferenceBundleId}).exit_code, 0);
    ASSERT_EQ(host.kextsim({"load", kext_bundle()}).exit_code, 0);
    EXPECT_TRUE(wait_for_state(host, 2, good, 3s)) << d->describe();
    stop_daemon(*d);
}

TEST_F(E2EWithoutKext, CtlStatusExitsThree)
{
    const Result text = host.ctl({"status"});
    EXPECT_EQ(text.exit_code, 3) << text.describe();
    EXPECT_NE(text.out.find("not loaded"), std::string::npos) << text.describe();

    const Result js = host.ctl({"--json", "status"});
    EXPECT_EQ(js.exit_code, 3) << js.describe();
    EXPECT_EQ(json::parse(js.out, nullptr, false).value("loaded", true), false) << js.describe();
}

TEST_F(E2E, CtlGetUnknownTunableExitsFour)
{
    const Result nosuch = host.ctl({"get", "nosuch"});
    EXPECT_TRUE(exited_saying(nosuch, 4, {"no tunable named \"nosuch\""}));

    // A near miss gets a suggestion.
    const Result near = host.ctl({"get", "max_client"});
    EXPECT_TRUE(exited_saying(near, 4, {"did you mean \"max_clients\"?"}));
    EXPECT_EQ(near.out, "");
}

} // namespace
