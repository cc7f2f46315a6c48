// Process faults around kextconfd, with the real daemon, the real kextsim
// host and the reference kext:
//  - kextconfd killed with SIGKILL at every control request of its apply
//    (kextsim's fault site "stall" holds the N-th request unanswered, so the
//    kill lands exactly there): the kext keeps the previous generation and a
//    restarted daemon applies the file;
//  - the kext unloaded while the daemon pushes: refused while the daemon is
//    mid-transaction, and pushes racing reload cycles; the daemon ends with
//    the file's values applied;
//  - the state directory's file system full (a 64 KiB tmpfs in a private
//    mount namespace): reported, the configuration still applied, the old
//    saved copy intact;
//  - the config file truncated or half-written: refused, last good kept.
#include "daemon_helpers.hpp"
#include "process.hpp"

#include <kextconf/proto.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <regex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace kctest;
using nlohmann::json;

const json kWanted = {{"max_clients", 321}, {"label", "survived"}, {"log_level", "debug"}};

// Waits until the kext holds exactly `tunables` (others at their defaults),
// whatever the generation.
::testing::AssertionResult wait_for_values(const KextsimHost& host, const json& tunables, Millis timeout = 5000ms)
{
    json want = kReferenceDefaults;
    want.update(tunables);
    std::optional<json> last;
    if (wait_until(
            [&] {
                last = status_json(host);
                return last && last->at("tunables") == want;
            },
            timeout))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "wanted " << want.dump() << "; last status "
                                         << (last ? last->dump() : "(none)");
}

std::unique_ptr<Process> start_daemon(const KextsimHost& host, const std::string& config, const std::string& state)
{
    return std::make_unique<Process>(std::vector<std::string>{bin_path("kextconfd"), "--config", config, "--state-dir",
                                                              state, "--reload-debounce-ms", "50"},
                                     SpawnOptions{host.env(), false});
}

// ---- SIGKILL at every step of an apply ----

// For N = 1, 2, ...: a host that stalls the N-th control request; the daemon
// starts applying, reaches request N and hangs there; it is killed; the kext
// must still be at generation 1 with its defaults and no client; a new
// daemon then applies the file. The walk ends at the first N the daemon's
// apply never reaches. Every step of the transaction (begin, each set,
// commit) is among those killed at.
TEST(ProcessFaults, DaemonKilledAtEveryStepOfAnApply)
{
    std::set<std::string> steps;
    int kills = 0;
    int committed_at = 0; // the N whose stalled request was the commit
    bool walked_past = false;
    for (int n = 1; n <= 80 && !walked_past; ++n) {
        SCOPED_TRACE("stall:" + std::to_string(n));
        KextsimHost host(kext_bundle(), kReferenceBundleId, {"--fail", "stall:" + std::to_string(n)});
        ASSERT_TRUE(host.ready());
        const std::string config = host.dir().file("config.json");
        const std::string state = host.dir().file("state");
        write_file(config, config_text(kWanted));
        auto d = start_daemon(host, config, state);
        const std::string stall_mark = "kextsim: stalling ";
        // Either the daemon hangs at request n, or it applies without
        // reaching it (then the walk is over).
        ASSERT_TRUE(wait_until(
            [&] {
                return host.process().err().find(stall_mark) != std::string::npos ||
                       d->err().find("applied " + config) != std::string::npos || !d->running();
            },
            10s))
            << d->describe() << host.process().err();
        const std::string herr = host.process().err();
        const auto at = herr.find(stall_mark);
        if (at == std::string::npos) {
            ASSERT_NE(d->err().find("applied " + config), std::string::npos) << d->describe();
            walked_past = true;
            stop_daemon(*d);
            break;
        }
        // "stalling setsockopt option 6 of pid P ..." names the step.
        std::smatch m;
        const std::string line = herr.substr(at, herr.find('\n', at) - at);
        ASSERT_TRUE(std::regex_search(line, m, std::regex("stalling (\\w+) option (\\d+)"))) << line;
        const int opt = std::stoi(m[2]);
        const bool after_commit = committed_at != 0;
        if (opt == KC_OPT_TXN_COMMIT)
            committed_at = n;
        steps.insert(after_commit               ? "verify"
                     : opt == KC_OPT_TXN_BEGIN  ? "begin"
                     : opt == KC_OPT_TXN_SET    ? "set"
                     : opt == KC_OPT_TXN_COMMIT ? "commit"
                                                : "read");
        ASSERT_TRUE(d->running()) << d->describe();
        d->kill();
        ++kills;
        ASSERT_TRUE(host.process().wait_for_err("stalled request dropped", 5s)) << host.process().err();
        ASSERT_TRUE(host.wait_no_clients());
        // Killed before its commit ran: generation 1, defaults. Killed while
        // reading back after the commit: the commit stands.
        if (after_commit)
            EXPECT_TRUE(wait_for_state(host, 2, kWanted, 0ms)) << "killed at " << line;
        else
            EXPECT_TRUE(wait_for_state(host, 1, json::object(), 0ms)) << "killed at " << line;

        // A new daemon applies the file over the previous generation.
        auto again = start_daemon(host, config, state);
        EXPECT_TRUE(wait_for_state(host, 2, kWanted)) << again->describe();
        // The kext may hold the file's values before this daemon has even
        // started (the commit stood): stop it only once it handles SIGTERM.
        EXPECT_TRUE(again->wait_for_err("kextconfd starting", 5s)) << again->describe();
        stop_daemon(*again);
    }
    EXPECT_TRUE(walked_past) << "the daemon's apply never completed without a stall";
    for (const char* step : {"read", "begin", "set", "commit", "verify"})
        EXPECT_TRUE(steps.count(step)) << "never killed at a " << step << " request";
    std::printf("[ faults ] kextconfd killed at %d requests of one apply, every time recovered\n", kills);
}

// ---- unloading while the daemon pushes ----

// The daemon hangs mid-transaction (stalled at its first TXN_SET): the
// unload is refused, the kext keeps generation 1. Once the daemon is gone
// the unload succeeds, and a new daemon applies to the reloaded kext.
TEST(ProcessFaults, UnloadRefusedWhileTheDaemonIsMidTransaction)
{
    // Find the daemon's first TXN_SET (its order depends on the kext's
    // table and the protocol version): stall request N = 1, 2, ... until the
    // stalled one is a set.
    // The transaction is then open, the daemon blocked inside it.
    std::unique_ptr<KextsimHost> host_p;
    std::unique_ptr<Process> d;
    std::string config, state;
    const std::string set_mark = "stalling setsockopt option " + std::to_string(KC_OPT_TXN_SET);
    for (int n = 1; n < 80; ++n) {
        d.reset();
        host_p.reset();
        host_p = std::make_unique<KextsimHost>(kext_bundle(), kReferenceBundleId,
                                               std::vector<std::string>{"--fail", "stall:" + std::to_string(n)});
        ASSERT_TRUE(host_p->ready());
        config = host_p->dir().file("config.json");
        state = host_p->dir().file("state");
        write_file(config, config_text(kWanted));
        d = start_daemon(*host_p, config, state);
        ASSERT_TRUE(wait_until(
            [&] {
                return host_p->process().err().find("kextsim: stalling ") != std::string::npos ||
                       d->err().find("applied " + config) != std::string::npos;
            },
            10s))
            << d->describe();
        if (host_p->process().err().find(set_mark) != std::string::npos)
            break;
        ASSERT_EQ(d->err().find("applied " + config), std::string::npos) << "walked past every TXN_SET";
    }
    ASSERT_NE(host_p->process().err().find(set_mark), std::string::npos) << host_p->process().err();
    KextsimHost& host = *host_p;
    const Result unload = host.kextsim({"unload", kReferenceBundleId});
    EXPECT_NE(unload.exit_code, 0) << unload.describe();
    EXPECT_TRUE(host.is_loaded());
    d->kill();
    ASSERT_TRUE(host.wait_no_clients());
    EXPECT_TRUE(wait_for_state(host, 1, json::object(), 0ms));

    const Result unload2 = host.kextsim({"unload", kReferenceBundleId});
    ASSERT_EQ(unload2.exit_code, 0) << unload2.describe();
    EXPECT_EQ(unload2.out.find("leak"), std::string::npos) << unload2.describe();
    auto d2 = start_daemon(host, config, state);
    ASSERT_TRUE(d2->wait_for_err("waiting for it to register", 5s)) << d2->describe();
    ASSERT_EQ(host.kextsim({"load", kext_bundle()}).exit_code, 0);
    EXPECT_TRUE(wait_for_state(host, 2, kWanted)) << d2->describe();
    stop_daemon(*d2);
}

// Edits (each one a push) race unload/load cycles: every unload is refused
// or completes; every push lands or fails cleanly; at the end the daemon
// has the last edit applied to whatever load of the kext is there.
TEST(ProcessFaults, PushesRacingUnloadLoadCyclesConverge)
{
    KextsimHost host;
    ASSERT_TRUE(host.ready());
    const std::string config = host.dir().file("config.json");
    write_file(config, config_text({{"max_clients", 1}}));
    auto d = start_daemon(host, config, host.dir().file("state"));
    ASSERT_TRUE(wait_for_state(host, 2, {{"max_clients", 1}})) << d->describe();

    // Each edit is followed by 150 ms of back-to-back unload/load cycles,
    // which straddle the daemon's push (debounce 50 ms).
    constexpr int kRounds = 8;
    int refused = 0;
    int unloaded = 0;
    for (int i = 2; i <= kRounds; ++i) {
        replace_file(config, config_text({{"max_clients", i}}));
        const auto until = std::chrono::steady_clock::now() + 150ms;
        while (std::chrono::steady_clock::now() < until) {
            const Result u = host.kextsim({"unload", kReferenceBundleId});
            if (u.exit_code == 0) {
                ++unloaded;
                EXPECT_EQ(u.out.find("leak"), std::string::npos) << u.describe();
                const Result l = host.kextsim({"load", kext_bundle()});
                ASSERT_EQ(l.exit_code, 0) << l.describe();
            } else {
                ++refused;
                EXPECT_TRUE(host.is_loaded()) << u.describe();
            }
        }
    }
    EXPECT_TRUE(wait_for_values(host, {{"max_clients", kRounds}}, 10s)) << d->describe();
    EXPECT_TRUE(d->running()) << d->describe();
    std::printf("[ faults ] %d unloads during %d pushes: %d completed, %d refused (clients connected); converged\n",
                unloaded + refused, kRounds - 1, unloaded, refused);
    stop_daemon(*d);
}

// ---- a full file system under the state directory ----

// kextconfd runs in a private mount namespace whose state directory is a
// 64 KiB tmpfs holding an old saved copy and filled to the last byte. It
// applies the file anyway, reports the failed save (ENOSPC), keeps the old
// copy intact, refuses a bad edit, applies a good one, and stops cleanly.
TEST(ProcessFaults, FullStateFileSystemIsReportedAndConfigStaysApplied)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to mount a tmpfs in a private namespace";
    KextsimHost host;
    ASSERT_TRUE(host.ready());
    const std::string config = host.dir().file("config.json");
    const std::string state = host.dir().file("state");
    const std::string old_copy = host.dir().file("old.json");
    const json old_values = {{"label", "old saved copy"}};
    write_file(old_copy, config_text(old_values));
    ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
    write_file(config, config_text(kWanted));

    const std::string script = "set -e; mount -t tmpfs -o size=64k,mode=0700 kct-state \"$1\"; "
                               "install -m 0600 \"$2\" \"$1/last-good.json\"; "
                               "head -c 1048576 /dev/zero > \"$1/fill\" 2>/dev/null || true; "
                               "exec \"$3\" --config \"$4\" --state-dir \"$1\" --reload-debounce-ms 50";
    Process d({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", state, old_copy,
               bin_path("kextconfd"), config},
              SpawnOptions{host.env(), false});
    ASSERT_TRUE(wait_for_state(host, 2, kWanted)) << d.describe();
    ASSERT_TRUE(d.wait_for_err("No space left on device", 5s)) << d.describe();
    EXPECT_TRUE(d.running());

    // The saved copy inside the namespace is the old one, whole; no temp
    // file is left behind.
    const Result cat = run({"/usr/bin/nsenter", "-t", std::to_string(d.pid()), "-m", "/bin/sh", "-c",
                            "cat \"$0/last-good.json\"; ls \"$0\"", state});
    EXPECT_EQ(cat.exit_code, 0) << cat.describe();
    EXPECT_EQ(cat.out, config_text(old_values) + "fill\nlast-good.json\n") << cat.describe();
    // Outside the namespace the directory is untouched.
    EXPECT_FALSE(std::ifstream(state + "/last-good.json").good());

    // A bad edit is refused; a good one is applied though it cannot be saved.
    write_file(config, "{\"kext\": \"org.kextconf.reference\", \"tunables\": {\"max_clients\": ");
    ASSERT_TRUE(d.wait_for_err("reload refused", 5s)) << d.describe();
    EXPECT_TRUE(wait_for_state(host, 2, kWanted, 0ms));
    const json next = {{"max_clients", 77}};
    write_file(config, config_text(next));
    EXPECT_TRUE(wait_for_state(host, 3, next)) << d.describe();
    stop_daemon(d);
}

// ---- truncated and half-written config files ----

// The file cut at several points (as a crash mid-save or a full disk leaves
// it) is refused with a position, and the last good configuration stays
// applied; writing the rest makes it whole and it is applied.
TEST(ProcessFaults, TruncatedOrHalfWrittenConfigKeepsLastGood)
{
    KextsimHost host;
    ASSERT_TRUE(host.ready());
    const std::string config = host.dir().file("config.json");
    write_file(config, config_text(kWanted));
    auto d = start_daemon(host, config, host.dir().file("state"));
    ASSERT_TRUE(wait_for_state(host, 2, kWanted)) << d->describe();

    const json next = {{"max_clients", 999}, {"label", "whole again"}, {"sample_interval_ms", 20}};
    const std::string full = config_text(next);
    std::size_t refusals = 0;
    for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, full.size() / 3, full.size() / 2, full.size() - 3}) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        const std::string before = d->err();
        // In place, like a writer that died after `cut` bytes.
        {
            std::ofstream out(config, std::ios::trunc);
            out << full.substr(0, cut);
        }
        ASSERT_TRUE(wait_until(
            [&] {
                const std::string now = d->err();
                return now.size() > before.size() && now.find("reload refused", before.size()) != std::string::npos;
            },
            5s))
            << d->describe();
        ++refusals;
        EXPECT_TRUE(wait_for_state(host, 2, kWanted, 0ms)) << "a cut file replaced the last good one";
        EXPECT_TRUE(d->running());
    }
    // The rest of the write arrives.
    {
        std::ofstream out(config, std::ios::app);
        out << full.substr(full.size() - 3);
    }
    EXPECT_TRUE(wait_for_state(host, 3, next)) << d->describe();
    // The saved copy becomes the complete text (saved after the apply).
    const std::string saved = host.dir().file("state") + "/last-good.json";
    EXPECT_TRUE(wait_until([&] { return read_file(saved) == full; }, 5s)) << read_file(saved);
    std::printf("[ faults ] %zu truncated config files refused, last good kept\n", refusals);
    stop_daemon(*d);
}

} // namespace
