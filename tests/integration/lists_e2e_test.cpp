// List tunables end to end: kextconfd applies a config holding a
// 100,000-entry int64 list and a 100,000-entry string list to the reference
// kext in a real `kextsim boot`, in chunks; kextconfctl reads them back; the
// kext's config hash equals the codec's hash of what was read. It also
// measures the apply (wall time, kextconfd's and the host's peak RSS).
#include "daemon_helpers.hpp"
#include "process.hpp"
#include <kextconf/kext_client.hpp>

#include <kextconf/codec.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

using namespace kctest;
using nlohmann::json;
namespace proto = kextconf::proto;

constexpr std::size_t kEntries = 100000;

std::unique_ptr<Process> start_daemon(const KextsimHost& host, const std::string& config)
{
    return std::make_unique<Process>(
        std::vector<std::string>{bin_path("kextconfd"), "--config", config, "--state-dir", host.dir().file("state")},
        SpawnOptions{host.env(), false});
}

// VmHWM (peak resident set) of a live process, in KiB; 0 if unreadable.
long peak_rss_kib(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
}

// The values the kext holds, read over the query control by the same
// KextClient kextconfd uses, and the kext's state.
struct KextView {
    std::vector<proto::TunableDesc> schema;
    std::vector<proto::Value> values;
    kc_state state{};
};

::testing::AssertionResult read_kext(const KextsimHost& host, KextView& out)
{
    ::setenv("KEXTSIM_ROOT", host.root().c_str(), 1);
    kextconf::KextError err;
    auto kext = kextconf::KextClient::connect(kReferenceBundleId, kextconf::KextClient::Access::Admin, err);
    if (!kext)
        return ::testing::AssertionFailure() << err.message;
    if (auto e = kext->describe(out.schema))
        return ::testing::AssertionFailure() << e.message;
    out.values.resize(out.schema.size());
    for (std::size_t i = 0; i < out.schema.size(); ++i)
        if (auto e = kext->get(out.schema[i], out.values[i]))
            return ::testing::AssertionFailure() << e.message;
    if (auto e = kext->state(out.state))
        return ::testing::AssertionFailure() << e.message;
    return ::testing::AssertionSuccess();
}

const proto::Value* value_of(const KextView& v, const std::string& name)
{
    for (std::size_t i = 0; i < v.schema.size(); ++i)
        if (v.schema[i].name == name)
            return &v.values[i];
    return nullptr;
}

TEST(ListsE2E, HundredThousandEntryListsApplyReadBackAndVerify)
{
    KextsimHost host;
    ASSERT_TRUE(host.ready());
    std::vector<std::int64_t> ports(kEntries);
    std::vector<std::string> paths(kEntries);
    for (std::size_t i = 0; i < kEntries; ++i) {
        ports[i] = static_cast<std::int64_t>(1 + (i * 7919) % 65535);
        paths[i] = "/Library/Application Support/Vendor" + std::to_string(i) + "/bin/agent";
    }
    const std::string config = host.dir().file("config.json");
    write_file(config, config_text({{"label", "lists"}, {"blocked_ports", ports}, {"trusted_paths", paths}}));

    const auto t0 = std::chrono::steady_clock::now();
    auto d = start_daemon(host, config);
    ASSERT_TRUE(d->wait_for_err("applied " + config, 60s)) << d->describe();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    const long daemon_kib = peak_rss_kib(d->pid());
    const long host_kib = peak_rss_kib(host.process().pid());
    std::printf("apply of 2 x %zu entries (%zu bytes of config): %lld ms from kextconfd start to verified apply; "
                "peak RSS kextconfd %ld KiB, kextsim host %ld KiB\n",
                kEntries, read_file(config).size(), static_cast<long long>(ms.count()), daemon_kib, host_kib);
    // The one apply line names what changed, lists by their size.
    const std::string log = d->err();
    EXPECT_NE(log.find("blocked_ports: 100000 entries"), std::string::npos) << log.substr(0, 2000);
    EXPECT_NE(log.find("trusted_paths: 100000 entries"), std::string::npos) << log.substr(0, 2000);
    EXPECT_NE(log.find("label=\"lists\""), std::string::npos) << log.substr(0, 2000);
    EXPECT_EQ(log.find("error"), std::string::npos) << log.substr(0, 2000);

    // What the kext holds, read in chunks, equals the file; its hash is the
    // codec's hash of every value it holds.
    KextView view;
    ASSERT_TRUE(read_kext(host, view));
    ASSERT_TRUE(value_of(view, "blocked_ports") && value_of(view, "trusted_paths"));
    EXPECT_EQ(*value_of(view, "blocked_ports"), proto::Value::of_ints(ports));
    EXPECT_EQ(*value_of(view, "trusted_paths"), proto::Value::of_strings(paths));
    EXPECT_EQ(view.state.config_hash, proto::config_hash(view.values));
    EXPECT_EQ(view.state.generation, 2u);

    // kextconfctl prints them whole.
    const Result ports_out = host.ctl({"--json", "get", "blocked_ports"}, false, 30s);
    ASSERT_EQ(ports_out.exit_code, 0) << ports_out.err;
    EXPECT_EQ(json::parse(ports_out.out, nullptr, false).value("blocked_ports", json()), json(ports));
    const Result paths_out = host.ctl({"get", "trusted_paths"}, false, 30s);
    ASSERT_EQ(paths_out.exit_code, 0) << paths_out.err;
    EXPECT_EQ(json::parse(paths_out.out, nullptr, false), json(paths));
    // The status summary says how long a list is instead of printing it.
    const Result status = host.ctl({"status"}, false, 30s);
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_NE(status.out.find("[100000 entries]"), std::string::npos) << status.out.substr(0, 2000);
    EXPECT_LT(status.out.size(), 4000u);

    // SIGHUP with the same file: nothing differs, so nothing is sent.
    ASSERT_TRUE(d->signal(SIGHUP));
    ASSERT_TRUE(d->wait_for_err("already matches", 30s)) << d->describe().substr(0, 2000);
    KextView again;
    ASSERT_TRUE(read_kext(host, again));
    EXPECT_EQ(again.state.generation, 2u);

    // Shrinking a list sends only that list.
    paths.resize(3);
    replace_file(config, config_text({{"label", "lists"}, {"blocked_ports", ports}, {"trusted_paths", paths}}));
    ASSERT_TRUE(d->signal(SIGHUP));
    ASSERT_TRUE(d->wait_for_err("trusted_paths: 3 entries", 30s)) << d->describe().substr(0, 2000);
    ASSERT_TRUE(read_kext(host, again));
    EXPECT_EQ(again.state.generation, 3u);
    EXPECT_EQ(*value_of(again, "trusted_paths"), proto::Value::of_strings(paths));
    EXPECT_EQ(again.state.config_hash, proto::config_hash(again.values));
    stop_daemon(*d);
}

// A list the kext's schema refuses (an element out of range, one too many
// entries) is reported at the element and nothing is applied.
TEST(ListsE2E, BadListElementIsReportedAndNothingApplied)
{
    KextsimHost host;
    ASSERT_TRUE(host.ready());
    const std::string config = host.dir().file("config.json");
    write_file(config, "{\n  \"kext\": \"org.kextconf.reference\",\n  \"tunables\": {\n    \"label\": \"x\",\n"
                       "    \"blocked_ports\": [22,\n      70000]\n  }\n}\n");
    auto d = start_daemon(host, config);
    ASSERT_TRUE(d->wait_for_err("not applied", 10s)) << d->describe();
    EXPECT_NE(d->err().find(config + ":6:7: error: tunable \"blocked_ports\"[1]: 70000 is out of range [1, 65535]"),
              std::string::npos)
        << d->describe();
    KextView view;
    ASSERT_TRUE(read_kext(host, view));
    EXPECT_EQ(view.state.generation, 1u);
    stop_daemon(*d);
}

} // namespace
