// The kernel library's events, counters, sysctl mirror and heartbeat, and the
// reference kext's consumers of its tunables, end to end: the unchanged kext
// in a real `kextsim boot`, driven over PF_SYSTEM control sockets, observed
// by a real kern_event listener, `kextsim sysctl` and `kextsim log`.
#include "contract_client.hpp"
#include "process.hpp"

#include <kextconf/codec.hpp>
#include <kextsim/client.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

namespace {

using namespace kctest;
using kextconf::proto::ByteView;
using kextconf::proto::Value;
using Clock = std::chrono::steady_clock;

constexpr int kCtl = kextsim::kSysprotoControl;
// Reference kext table indices (kext/reference/reference_kext.cpp).
constexpr std::uint32_t kEnabled = 0, kMaxClients = 1, kLogLevel = 2, kEventRateLimit = 4, kHeartbeatInterval = 5,
                        kLabel = 6;
constexpr std::uint32_t kLogError = 0, kLogInfo = 2, kLogDebug = 3;
constexpr const char* kNode = "kextconf_reference";

struct Ev {
    kextsim::kern_event_msg_header hdr{};
    kextconf::proto::Event ev;
    std::size_t payload = 0;
    Clock::time_point at;
};

// A listener for the reference kext's events (vendor = its bundle id).
class Listener {
public:
    explicit Listener(const std::string& root) : s_(event_listener(root))
    {
        if (!s_)
            return;
        kextsim::kev_vendor_code kv{};
        std::strncpy(kv.vendor_string, kReferenceBundleId, sizeof kv.vendor_string - 1);
        EXPECT_EQ(err_of_call(s_->ioctl(kextsim::kSiocGKevVendor, &kv)), 0) << "vendor code";
        EXPECT_EQ(set_event_filter(*s_, kv.vendor_code, KC_EVENT_CLASS, KC_EVENT_SUBCLASS), 0);
    }
    bool ok() const { return s_ != nullptr; }

    std::optional<Ev> next(Millis timeout = 2000ms)
    {
        auto raw = next_kern_event(*s_, timeout);
        if (!raw)
            return std::nullopt;
        Ev e;
        e.at = Clock::now();
        e.hdr = raw->hdr;
        e.payload = raw->data.size();
        EXPECT_LE(e.payload, KC_EVENT_PAYLOAD_MAX) << "event " << raw->hdr.event_code << " over the portable limit";
        auto d = kextconf::proto::decode_event(
            raw->hdr.event_code, ByteView(reinterpret_cast<const std::uint8_t*>(raw->data.data()), raw->data.size()));
        EXPECT_TRUE(d) << "undecodable event " << raw->hdr.event_code;
        if (!d)
            return std::nullopt;
        e.ev = *d;
        return e;
    }
    // Everything that arrives until `quiet` passes with nothing new.
    std::vector<Ev> drain(Millis quiet = 300ms)
    {
        std::vector<Ev> out;
        while (auto e = next(quiet))
            out.push_back(*e);
        return out;
    }
    // The next event with `code`, skipping others; nullopt after `timeout`.
    std::optional<Ev> next_of(std::uint32_t code, Millis timeout = 3000ms)
    {
        const auto end = Clock::now() + timeout;
        while (Clock::now() < end) {
            auto e = next(std::chrono::duration_cast<Millis>(end - Clock::now()) + 1ms);
            if (e && e->ev.code == code)
                return e;
        }
        return std::nullopt;
    }

private:
    std::unique_ptr<kextsim::SystemSocket> s_;
};

std::unique_ptr<kextsim::SystemSocket> connect(const std::string& root, const std::string& name)
{
    int err = 0;
    auto s = open_control(root, name, err);
    EXPECT_TRUE(s) << "connect " << name << ": " << std::strerror(err);
    return s;
}

kc_state state_of(kextsim::SystemSocket& s)
{
    kc_state st{};
    std::size_t len = sizeof st;
    EXPECT_EQ(s.getsockopt(kCtl, KC_OPT_STATE, &st, &len), 0) << std::strerror(errno);
    return st;
}

kc_counters counters_of(kextsim::SystemSocket& s)
{
    kc_counters c{};
    std::size_t len = sizeof c;
    EXPECT_EQ(s.getsockopt(kCtl, KC_OPT_COUNTERS, &c, &len), 0) << std::strerror(errno);
    EXPECT_EQ(len, sizeof c);
    return c;
}

// One transaction setting `values` at the current generation; the new generation (0 on failure).
std::uint64_t commit(kextsim::SystemSocket& s, const std::vector<std::pair<std::uint32_t, Value>>& values)
{
    const kc_txn_begin b{state_of(s).generation};
    if (s.setsockopt(kCtl, KC_OPT_TXN_BEGIN, &b, sizeof b) != 0) {
        ADD_FAILURE() << "begin: " << std::strerror(errno);
        return 0;
    }
    for (const auto& [index, v] : values)
        for (const auto& chunk : kextconf::proto::encode_set_chunks(index, v))
            if (s.setsockopt(kCtl, KC_OPT_TXN_SET, chunk.data(), chunk.size()) != 0) {
                ADD_FAILURE() << "set " << index << ": " << std::strerror(errno);
                return 0;
            }
    kc_commit_reply r{};
    std::size_t len = sizeof r;
    if (s.getsockopt(kCtl, KC_OPT_TXN_COMMIT, &r, &len) != 0) {
        ADD_FAILURE() << "commit: " << std::strerror(errno);
        return 0;
    }
    return r.generation;
}

class KextLibrary : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }

    Result sysctl(const std::string& arg) const { return host_.kextsim({"sysctl", arg}); }
    // `kextsim sysctl NAME`'s value ("NAME: value").
    std::string sysctl_value(const std::string& name) const
    {
        const Result r = sysctl(name);
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        const std::string prefix = name + ": ";
        if (r.out.rfind(prefix, 0) != 0) {
            ADD_FAILURE() << "unexpected output: " << r.out;
            return {};
        }
        return r.out.substr(prefix.size(), r.out.size() - prefix.size() - (r.out.back() == '\n'));
    }
    std::string kernel_log() const
    {
        const Result r = host_.kextsim({"log"});
        EXPECT_EQ(r.exit_code, 0) << r.describe();
        return r.out;
    }
    Result unload() const { return host_.kextsim({"unload", kReferenceBundleId}); }

    KextsimHost host_;
};

// ---- counters ----

TEST_F(KextLibrary, CountersMatchWhatClientsDid)
{
    auto a = connect(host_.root(), kReferenceBundleId);
    auto q1 = connect(host_.root(), kReferenceQueryControl);
    auto q2 = connect(host_.root(), kReferenceQueryControl);
    ASSERT_TRUE(a && q1 && q2);
    const kc_counters before = counters_of(*a);
    EXPECT_EQ(before.clients, 3u);
    EXPECT_EQ(before.clients_peak, 3u);
    EXPECT_EQ(before.commits, 0u);

    // 1 request, refused: writes through the query control.
    const kc_txn_begin b{1};
    EXPECT_NE(q1->setsockopt(kCtl, KC_OPT_TXN_BEGIN, &b, sizeof b), 0);
    // 1 request, refused: an option the kext does not have.
    char buf[16] = {};
    std::size_t len = sizeof buf;
    EXPECT_NE(a->getsockopt(kCtl, 99, buf, &len), 0);
    // 5 requests: state, begin, set, commit (commit() reads state first)...
    ASSERT_EQ(commit(*a, {{kMaxClients, Value::of_uint(5)}}), 2u);
    // ... 2 requests: begin and abort, one transaction discarded.
    const kc_txn_begin b2{2};
    ASSERT_EQ(a->setsockopt(kCtl, KC_OPT_TXN_BEGIN, &b2, sizeof b2), 0);
    ASSERT_EQ(a->setsockopt(kCtl, KC_OPT_TXN_ABORT, nullptr, 0), 0);
    q2.reset();
    ASSERT_TRUE(wait_until([&] { return counters_of(*q1).clients == 2; }, 2000ms));

    const kc_counters after = counters_of(*a);
    // The wait's polls count too: read them off the query control's total.
    EXPECT_EQ(after.rejections - before.rejections, 2u);
    EXPECT_EQ(after.rejected[KC_R_NOT_PERMITTED] - before.rejected[KC_R_NOT_PERMITTED], 1u);
    EXPECT_EQ(after.rejected[KC_R_UNKNOWN_OPTION] - before.rejected[KC_R_UNKNOWN_OPTION], 1u);
    EXPECT_GE(after.requests - before.requests, 1u + 1 + 4 + 2 + 1 + 1);
    EXPECT_EQ(after.commits, 1u);
    EXPECT_EQ(after.aborts, 1u);
    EXPECT_EQ(after.clients, 2u);
    EXPECT_EQ(after.clients_peak, 3u);
    std::uint64_t by_reason = 0;
    for (const std::uint64_t n : after.rejected)
        by_reason += n;
    EXPECT_EQ(by_reason, after.rejections) << "every rejection is counted under one reason";

    // The same figures through the sysctl mirror.
    EXPECT_EQ(sysctl_value(std::string(kNode) + ".counters.commits"), "1");
    EXPECT_EQ(sysctl_value(std::string(kNode) + ".counters.aborts"), "1");
    EXPECT_EQ(sysctl_value(std::string(kNode) + ".counters.clients_peak"), "3");
}

// ---- sysctl mirror ----

TEST_F(KextLibrary, SysctlMirrorIsReadOnlyAndFollowsCommits)
{
    const std::string t = std::string(kNode) + ".tunables.";
    const Result all = sysctl(kNode);
    ASSERT_EQ(all.exit_code, 0) << all.describe();
    for (const std::string& line :
         {t + "enabled: 1\n", t + "max_clients: 64\n", t + "log_level: info\n", t + "sample_interval_ms: 1000\n",
          t + "event_rate_limit: 0\n", t + "heartbeat_interval_ms: 60000\n", t + "label: default\n",
          std::string(kNode) + ".generation: 1\n", std::string(kNode) + ".counters.commits: 0\n"})
        EXPECT_NE(all.out.find(line), std::string::npos) << "missing " << line << "in\n" << all.out;

    auto a = connect(host_.root(), kReferenceBundleId);
    ASSERT_TRUE(a);
    ASSERT_EQ(commit(*a, {{kLabel, Value::of_string("mirrored")},
                          {kLogLevel, Value::of_enum(kLogDebug)},
                          {kMaxClients, Value::of_uint(7)}}),
              2u);
    EXPECT_EQ(sysctl_value(t + "label"), "mirrored");
    EXPECT_EQ(sysctl_value(t + "log_level"), "debug");
    EXPECT_EQ(sysctl_value(t + "max_clients"), "7");
    EXPECT_EQ(sysctl_value(std::string(kNode) + ".generation"), "2");

    // Read-only: a write is refused and changes nothing.
    const Result w = sysctl(t + "label=sneaky");
    EXPECT_NE(w.exit_code, 0) << w.describe();
    EXPECT_EQ(sysctl_value(t + "label"), "mirrored");

    // Gone with the kext.
    a.reset();
    ASSERT_TRUE(host_.wait_no_clients());
    const Result u = unload();
    ASSERT_EQ(u.exit_code, 0) << u.describe();
    EXPECT_EQ(u.out.find("problems"), std::string::npos) << u.out;
    const Result gone = sysctl(kNode);
    EXPECT_TRUE(exited_saying(gone, 1, {"unknown oid"}));
}

// ---- events ----

// Over the rate limit events are dropped, their sequence numbers stay used,
// and the next event that goes out is preceded by an overflow event counting
// exactly the missing numbers.
TEST_F(KextLibrary, RateLimitedEventsShowAsGapsThatOverflowEventsAccountFor)
{
    Listener l(host_.root());
    ASSERT_TRUE(l.ok());
    auto a = connect(host_.root(), kReferenceBundleId);
    ASSERT_TRUE(a);
    ASSERT_NE(commit(*a, {{kEventRateLimit, Value::of_uint(3)}}), 0u);
    // 2 events a commit (label changed, applied) against 3 a second: commit
    // until the kext has dropped 6, however long that takes here (the bound
    // only catches a kext that never drops).
    int bursts = 0;
    const bool dropped = wait_until(
        [&] {
            if (commit(*a, {{kLabel, Value::of_string("burst " + std::to_string(bursts++))}}) == 0u)
                return true; // reported below
            return counters_of(*a).events_dropped >= 6;
        },
        60s, 0ms);
    ASSERT_TRUE(dropped) << "no 6 events dropped after " << bursts << " commits";
    ASSERT_GE(counters_of(*a).events_dropped, 6u) << "a commit failed";
    std::this_thread::sleep_for(1100ms); // a new one-second window (at least)
    ASSERT_NE(commit(*a, {{kLabel, Value::of_string("after")}}), 0u);
    const std::vector<Ev> got = l.drain();
    ASSERT_FALSE(got.empty());

    std::uint32_t expect_seq = got.front().ev.hdr.seq;
    std::uint32_t missing_since_report = 0;
    std::uint64_t missing_total = 0, reported_total = 0;
    int overflows = 0;
    for (const Ev& e : got) {
        if (e.ev.hdr.seq > expect_seq) {
            missing_since_report += e.ev.hdr.seq - expect_seq;
            missing_total += e.ev.hdr.seq - expect_seq;
        }
        EXPECT_GE(e.ev.hdr.seq, expect_seq) << "sequence numbers only grow";
        expect_seq = e.ev.hdr.seq + 1;
        if (e.ev.code == KC_EV_OVERFLOW) {
            ++overflows;
            EXPECT_EQ(e.ev.overflow.reason, KC_OVF_RATE_LIMIT);
            EXPECT_EQ(e.ev.overflow.lost, missing_since_report) << "lost = the gap before it";
            reported_total += e.ev.overflow.lost;
            EXPECT_EQ(e.ev.overflow.lost_total, reported_total);
            missing_since_report = 0;
        }
    }
    EXPECT_GE(overflows, 1);
    EXPECT_GE(missing_total, 6u) << "the 6 drops counted before are gaps";
    std::printf("[ figures ] rate limit 3/s: %d commits until 6 events were dropped; %llu dropped in all\n", bursts,
                static_cast<unsigned long long>(missing_total));
    EXPECT_EQ(missing_since_report, 0u) << "the last gap was reported";
    const kc_counters c = counters_of(*a);
    EXPECT_EQ(c.events_dropped, missing_total);
    EXPECT_EQ(state_of(*a).event_seq, got.back().ev.hdr.seq);
}

// A commit that changes the interval reschedules the pending beat at once
// (the default, 60 s, would otherwise delay it); 0 stops it; every beat
// carries the counters and the interval.
TEST_F(KextLibrary, HeartbeatFollowsItsIntervalTunable)
{
    Listener l(host_.root());
    ASSERT_TRUE(l.ok());
    auto a = connect(host_.root(), kReferenceBundleId);
    ASSERT_TRUE(a);
    // Beats are timed from the commit that set the interval: beat k is
    // posted no sooner than k intervals after it (less some timer slack), on
    // any machine; arrival order says nothing about gaps between two beats
    // (a busy listener reads several at once). Collects 5, however long that
    // takes (the bound only catches a heartbeat that never comes).
    constexpr std::size_t kBeats = 5;
    const auto set_100 = Clock::now();
    ASSERT_EQ(commit(*a, {{kHeartbeatInterval, Value::of_uint(100)}}), 2u);
    std::vector<Ev> beats;
    const auto end = Clock::now() + 60s;
    while (beats.size() < kBeats && Clock::now() < end)
        if (auto e = l.next(200ms); e && e->ev.code == KC_EV_HEARTBEAT)
            beats.push_back(*e);
    ASSERT_EQ(beats.size(), kBeats) << "100 ms beats stopped coming";
    for (std::size_t k = 0; k < beats.size(); ++k) {
        const Ev& b = beats[k];
        EXPECT_EQ(b.ev.heartbeat.interval_ms, 100u);
        EXPECT_EQ(b.ev.heartbeat.generation, 2u);
        EXPECT_EQ(b.ev.heartbeat.commits, 1u);
        EXPECT_EQ(b.ev.heartbeat.clients, 1u);
        EXPECT_EQ(b.payload, sizeof(kc_ev_heartbeat));
        EXPECT_GE(b.at - set_100, (k + 1) * 60ms) << "beat " << k + 1 << " came sooner than its interval";
    }
    double max_ms = 0;
    for (std::size_t i = 1; i < beats.size(); ++i)
        max_ms = std::max(max_ms, std::chrono::duration<double, std::milli>(beats[i].at - beats[i - 1].at).count());
    std::printf("[ figures ] heartbeat at 100 ms: %zu beats in %.1f ms after the commit, max gap %.1f ms "
                "(listener arrival times)\n",
                beats.size(), std::chrono::duration<double, std::milli>(beats.back().at - set_100).count(), max_ms);

    // The first beat carrying 400 is armed by this commit (or re-armed by a
    // 100 ms beat in flight, after it): 400 ms after it at least, the next
    // 800 ms.
    const auto set_400 = Clock::now();
    ASSERT_EQ(commit(*a, {{kHeartbeatInterval, Value::of_uint(400)}}), 3u);
    auto b1 = l.next_of(KC_EV_HEARTBEAT, 30s);
    ASSERT_TRUE(b1);
    while (b1 && b1->ev.heartbeat.interval_ms != 400) // a 100 ms beat may have been in flight
        b1 = l.next_of(KC_EV_HEARTBEAT, 30s);
    ASSERT_TRUE(b1);
    auto b2 = l.next_of(KC_EV_HEARTBEAT, 30s);
    ASSERT_TRUE(b2);
    EXPECT_EQ(b2->ev.heartbeat.interval_ms, 400u);
    EXPECT_GE(b1->at - set_400, 300ms);
    EXPECT_GE(b2->at - set_400, 600ms);

    ASSERT_EQ(commit(*a, {{kHeartbeatInterval, Value::of_uint(0)}}), 4u);
    l.drain(100ms);
    EXPECT_FALSE(l.next_of(KC_EV_HEARTBEAT, 800ms)) << "0 turns the heartbeat off";
}

TEST_F(KextLibrary, StopCancelsTheHeartbeatAndLeavesNothingBehind)
{
    {
        auto a = connect(host_.root(), kReferenceBundleId);
        ASSERT_TRUE(a);
        ASSERT_EQ(commit(*a, {{kHeartbeatInterval, Value::of_uint(5)}}), 2u);
        // Refused while a client is connected; the heartbeat keeps going.
        const Result busy = unload();
        EXPECT_NE(busy.exit_code, 0) << busy.describe();
        Listener l(host_.root());
        ASSERT_TRUE(l.ok());
        EXPECT_TRUE(l.next_of(KC_EV_HEARTBEAT, 1000ms)) << "a refused stop resumes the heartbeat";
    }
    ASSERT_TRUE(host_.wait_no_clients());
    const Result u = unload();
    ASSERT_EQ(u.exit_code, 0) << u.describe();
    EXPECT_EQ(u.out.find("problems"), std::string::npos) << "leaks, thread calls or OIDs left: " << u.out;
    EXPECT_EQ(u.out.find("thread call"), std::string::npos) << u.out;
    EXPECT_FALSE(host_.is_loaded());
}

// ---- the reference kext's log_level ----

TEST_F(KextLibrary, LogLevelGatesTheKextsOwnLog)
{
    auto a = connect(host_.root(), kReferenceBundleId);
    ASSERT_TRUE(a);
    ASSERT_EQ(commit(*a, {{kLogLevel, Value::of_enum(kLogError)}}), 2u);
    ASSERT_EQ(commit(*a, {{kLabel, Value::of_string("quiet")}}), 3u);
    ASSERT_EQ(commit(*a, {{kLogLevel, Value::of_enum(kLogInfo)}}), 4u);
    std::string log = kernel_log();
    EXPECT_EQ(log.find("generation 2 applied"), std::string::npos) << "error level hides info:\n" << log;
    EXPECT_EQ(log.find("generation 3 applied"), std::string::npos) << log;
    EXPECT_NE(log.find("kext[org.kextconf.reference] info: org.kextconf.reference: configuration generation 4 applied, "
                       "1 tunables changed (label quiet)"),
              std::string::npos)
        << "the commit line names the label:\n"
        << log;

    // Debug shows the heartbeat's lines; info does not.
    ASSERT_EQ(commit(*a, {{kLogLevel, Value::of_enum(kLogDebug)}, {kHeartbeatInterval, Value::of_uint(20)}}), 5u);
    ASSERT_TRUE(wait_until([&] { return kernel_log().find("heartbeat at generation 5") != std::string::npos; }, 2000ms))
        << kernel_log();
    ASSERT_EQ(commit(*a, {{kLogLevel, Value::of_enum(kLogInfo)}}), 6u);
    std::this_thread::sleep_for(200ms);
    log = kernel_log();
    EXPECT_EQ(log.find("heartbeat at generation 6"), std::string::npos) << log;

    // enabled = false: the heartbeat hook does no work and says so.
    ASSERT_EQ(commit(*a, {{kLogLevel, Value::of_enum(kLogDebug)}, {kEnabled, Value::of_bool(false)}}), 7u);
    ASSERT_TRUE(wait_until(
        [&] { return kernel_log().find("heartbeat at generation 7: disabled, no work") != std::string::npos; }, 2000ms))
        << kernel_log();
}

// ---- start under fault injection, through the host process ----

// Every allocation in kc_start, failed in turn in a fresh `kextsim boot`:
// the load fails with an errno and leaves no control, OID, thread call or
// block behind; past the last allocation it loads.
TEST(KextLibraryStart, FailedAllocationsInStartLeaveNothingRegistered)
{
    int failures = 0;
    for (std::uint64_t n = 1; n < 60; ++n) {
        SCOPED_TRACE(n);
        TempDir dir("/tmp/kcf.");
        const Env env{{"KEXTSIM_ROOT", dir.path()}, {"KEXTSIM_FAIL", "alloc:" + std::to_string(n)}};
        Process host({bin_path("kextsim"), "boot"}, {env});
        ASSERT_TRUE(wait_until(
            [&] {
                return run({bin_path("kextsim"), "showloaded"}, {env}).exit_code == 0;
            },
            5000ms))
            << host.describe();
        const Result load = run({bin_path("kextsim"), "load", kext_bundle()}, {env});
        const bool injected = host.err().find("fault injected") != std::string::npos;
        if (!injected) {
            EXPECT_EQ(load.exit_code, 0) << "no fault, so the load must work: " << load.describe();
            EXPECT_GE(failures, 5) << "tag, group, locks, snapshot, lists, sysctl mirror, controls";
            host.signal(SIGTERM);
            host.wait(10000ms);
            return;
        }
        if (load.exit_code == 0) { // a tolerated failure (an event's allocation): must still unload cleanly
            const Result u = run({bin_path("kextsim"), "unload", kReferenceBundleId}, {env});
            EXPECT_EQ(u.exit_code, 0) << u.describe();
            EXPECT_EQ(u.out.find("problems"), std::string::npos) << u.describe();
        } else {
            ++failures;
            const std::string all = load.out + load.err;
            EXPECT_NE(all.find("start returned"), std::string::npos) << load.describe();
            for (const char* bad : {"leak", "still registered"})
                EXPECT_EQ(all.find(bad), std::string::npos) << load.describe();
            EXPECT_NE(host.err().find("start failed: errno 12"), std::string::npos) << "ENOMEM: " << host.describe();
            EXPECT_EQ(run({bin_path("kextsim"), "sysctl", kNode}, {env}).exit_code, 1) << "no sysctl node left";
            auto s = kextsim::SystemSocket::open(kextsim::kSockDgram, kCtl, dir.path());
            ASSERT_TRUE(s);
            std::uint32_t id = 0;
            EXPECT_EQ(control_id(*s, kReferenceBundleId, id), ENOENT);
            EXPECT_EQ(control_id(*s, kReferenceQueryControl, id), ENOENT);
        }
        host.signal(SIGTERM);
        EXPECT_TRUE(host.wait(10000ms));
        EXPECT_EQ(host.exit_code(), 0) << "a clean shutdown: nothing leaked. " << host.describe();
    }
    FAIL() << "start still hit injected faults after 60 allocations";
}

// kev_msg_post failing at start loses the started event, nothing else: the
// load works, and the loss shows as a gap (the first event seen is seq 2,
// preceded by an overflow report) and in the counters.
TEST(KextLibraryStart, FailedStartedEventIsCountedNotFatal)
{
    TempDir dir("/tmp/kcf.");
    const Env env{{"KEXTSIM_ROOT", dir.path()}, {"KEXTSIM_FAIL", "event:1"}};
    Process host({bin_path("kextsim"), "boot"}, {env});
    ASSERT_TRUE(wait_until([&] { return run({bin_path("kextsim"), "showloaded"}, {env}).exit_code == 0; }, 5000ms));
    // Learn the vendor code from a first load, then watch the second.
    ASSERT_EQ(run({bin_path("kextsim"), "load", kext_bundle()}, {env}).exit_code, 0);
    ASSERT_NE(host.err().find("fault injected: event call #1"), std::string::npos) << host.describe();
    Listener l(dir.path());
    ASSERT_TRUE(l.ok());
    auto a = connect(dir.path(), kReferenceBundleId);
    ASSERT_TRUE(a);
    auto ovf = l.next();
    ASSERT_TRUE(ovf);
    EXPECT_EQ(ovf->ev.code, static_cast<std::uint32_t>(KC_EV_OVERFLOW));
    EXPECT_EQ(ovf->ev.hdr.seq, 2u) << "started (1) was lost";
    EXPECT_EQ(ovf->ev.overflow.lost, 1u);
    EXPECT_EQ(ovf->ev.overflow.reason, KC_OVF_POST_FAILED);
    auto conn = l.next();
    ASSERT_TRUE(conn);
    EXPECT_EQ(conn->ev.code, static_cast<std::uint32_t>(KC_EV_CLIENT_CONNECTED));
    EXPECT_EQ(conn->ev.hdr.seq, 3u);
    EXPECT_EQ(counters_of(*a).events_dropped, 1u);
    a.reset();
    host.signal(SIGTERM);
    EXPECT_TRUE(host.wait(10000ms));
}

} // namespace
