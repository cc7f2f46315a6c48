// kextsim's in-process mode: the unchanged reference kext loaded into this test
// process, driven through InProcessControl/InProcessEvents without sockets or
// threads, and fault injection walked through its start and its transactions.
#include <kextconf/codec.hpp>

#include "../support/inproc_kext.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace {

using namespace kextconf::proto;
using namespace kctest::inproc;

constexpr uid_t kNobody = 65534;
constexpr std::uint32_t kMaxClients = 1; // index in the reference kext's table

class InProcess : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), ""); }
    void TearDown() override
    {
        host.clear_faults();
        std::string msg;
        host.unload(kBundleId, msg);
    }

    std::unique_ptr<InProcessControl> admin()
    {
        int err = 0;
        auto c = InProcessControl::connect(kBundleId, 0, err);
        EXPECT_TRUE(c) << std::strerror(err);
        return c;
    }

    static kc_state state(InProcessControl& c)
    {
        kc_state st{};
        std::size_t len = sizeof st;
        EXPECT_EQ(c.getsockopt(kSysprotoControl, KC_OPT_STATE, &st, &len), 0) << std::strerror(errno);
        return st;
    }

    static int begin(InProcessControl& c, std::uint64_t generation)
    {
        const kc_txn_begin b{generation};
        return c.setsockopt(kSysprotoControl, KC_OPT_TXN_BEGIN, &b, sizeof b) == 0 ? 0 : errno;
    }

    static int set_max_clients(InProcessControl& c, std::uint64_t v)
    {
        const auto chunk = encode_set_chunks(kMaxClients, Value::of_uint(v))[0];
        return c.setsockopt(kSysprotoControl, KC_OPT_TXN_SET, chunk.data(), chunk.size()) == 0 ? 0 : errno;
    }

    static int commit(InProcessControl& c, kc_commit_reply& r)
    {
        std::size_t len = sizeof r;
        return c.getsockopt(kSysprotoControl, KC_OPT_TXN_COMMIT, &r, &len) == 0 ? 0 : errno;
    }

    InProcessHost host;
};

TEST_F(InProcess, ReferenceKextRunsUnchanged)
{
    auto a = admin();
    ASSERT_TRUE(a);
    kc_hello_reply hello{};
    std::size_t len = sizeof hello;
    ASSERT_EQ(a->getsockopt(kSysprotoControl, KC_OPT_HELLO, &hello, &len), 0);
    EXPECT_EQ(hello.proto_version, KC_PROTO_VERSION);
    EXPECT_EQ(field_string(hello.bundle_id), kBundleId);

    // Privilege is the connecting process's: nobody may read, not write.
    int err = 0;
    EXPECT_FALSE(InProcessControl::connect(kBundleId, kNobody, err));
    EXPECT_EQ(err, EPERM);
    auto q = InProcessControl::connect(kQuery, kNobody, err);
    ASSERT_TRUE(q) << std::strerror(err);
    EXPECT_EQ(begin(*q, 1), EPERM);

    InProcessEvents events;
    ASSERT_EQ(listen_to_kext(events, kBundleId, KC_EVENT_CLASS), 0);

    ASSERT_EQ(begin(*a, 1), 0);
    ASSERT_EQ(set_max_clients(*a, 100), 0);
    kc_commit_reply r{};
    ASSERT_EQ(commit(*a, r), 0);
    EXPECT_EQ(r.generation, 2u);
    EXPECT_EQ(r.changed, 1u);
    EXPECT_EQ(state(*q).generation, 2u);

    // The commit's events arrived in memory: max_clients changed, then
    // applied; started was 1, the two connects 2 and 3.
    std::uint8_t buf[256];
    const auto next = [&](std::uint32_t want_code) -> std::optional<Event> {
        const ssize_t n = events.recv(buf, sizeof buf);
        EXPECT_GE(n, 24);
        if (n < 24)
            return std::nullopt;
        std::uint32_t code = 0;
        std::memcpy(&code, buf + 20, sizeof code);
        EXPECT_EQ(code, want_code);
        return decode_event(code, ByteView(buf + 24, static_cast<std::size_t>(n) - 24));
    };
    auto changed = next(KC_EV_TUNABLE_CHANGED);
    ASSERT_TRUE(changed);
    EXPECT_EQ(changed->hdr.seq, 4u);
    EXPECT_EQ(changed->index, kMaxClients);
    EXPECT_EQ(changed->name, "max_clients");
    auto ev = next(KC_EV_APPLIED);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->generation, 2u);
    EXPECT_EQ(ev->hdr.seq, 5u);
    EXPECT_EQ(events.recv(buf, sizeof buf), -1);
    EXPECT_EQ(errno, EAGAIN);

    // Unload is refused while clients are connected, as on macOS.
    std::string msg;
    EXPECT_EQ(host.unload(kBundleId, msg), EBUSY) << msg;
    a.reset();
    q.reset();
    EXPECT_EQ(host.unload(kBundleId, msg), 0) << msg;
    EXPECT_EQ(msg.find("leak"), std::string::npos) << msg;
    ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
}

// Fault injection walked through the whole kext start: every allocation
// failure makes start fail cleanly (nothing registered, nothing leaked), and
// once N passes the number of allocations the kext starts normally.
TEST_F(InProcess, FaultWalkThroughStartLeavesNothingBehind)
{
    std::string msg;
    ASSERT_EQ(host.unload(kBundleId, msg), 0) << msg;
    int failures = 0;
    for (std::uint64_t n = 1; n < 100; ++n) {
        SCOPED_TRACE(n);
        const std::uint64_t before = host.faults_injected();
        ASSERT_TRUE(host.fail_nth("alloc", n));
        const std::string err = host.load(KEXTCONF_TEST_KEXT_BUNDLE);
        host.clear_faults();
        if (host.faults_injected() == before) {
            ASSERT_EQ(err, "") << "no fault injected, so start must succeed";
            break;
        }
        ++failures;
        if (err.empty()) {
            // The fault hit an allocation whose failure the kext tolerates
            // (e.g. in event posting); it must still unload cleanly.
            ASSERT_EQ(host.unload(kBundleId, msg), 0) << msg;
            EXPECT_EQ(msg.find("leak"), std::string::npos) << msg;
            continue;
        }
        expect_failed_start_left_nothing(err);
    }
    EXPECT_GE(failures, 4) << "start allocates a tag, a group, locks and a snapshot";
}

// The event site walked through start: kc_start posts one event (started);
// losing it is counted and shows as a gap, never fails the load.
TEST_F(InProcess, FaultWalkOfEventsThroughStartIsCountedNotFatal)
{
    std::string msg;
    ASSERT_EQ(host.unload(kBundleId, msg), 0) << msg;
    for (std::uint64_t n = 1;; ++n) {
        SCOPED_TRACE(n);
        ASSERT_LT(n, 10u) << "start posts more events than expected";
        const std::uint64_t before = host.faults_injected();
        ASSERT_TRUE(host.fail_nth("event", n));
        ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
        host.clear_faults();
        const bool injected = host.faults_injected() != before;
        auto a = admin();
        ASSERT_TRUE(a);
        kc_counters c{};
        std::size_t len = sizeof c;
        ASSERT_EQ(a->getsockopt(kSysprotoControl, KC_OPT_COUNTERS, &c, &len), 0);
        EXPECT_EQ(c.events_dropped, injected ? 1u : 0u);
        // started (1) and this client's connect; after a loss the overflow
        // report goes out first and takes a number of its own.
        EXPECT_EQ(state(*a).event_seq, injected ? 3u : 2u);
        a.reset();
        ASSERT_EQ(host.unload(kBundleId, msg), 0) << msg;
        EXPECT_EQ(msg.find("leak"), std::string::npos) << msg;
        if (!injected)
            break;
    }
    ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
}

// Fault injection through a transaction: a failed allocation at begin gets
// ENOMEM and leaves the current generation untouched; the next try works.
TEST_F(InProcess, FaultInTransactionKeepsPreviousSnapshot)
{
    auto a = admin();
    ASSERT_TRUE(a);
    ASSERT_TRUE(host.fail_nth("alloc", 1));
    EXPECT_EQ(begin(*a, 1), ENOMEM);
    host.clear_faults();
    kc_error_detail d{};
    std::size_t len = sizeof d;
    ASSERT_EQ(a->getsockopt(kSysprotoControl, KC_OPT_LAST_ERROR, &d, &len), 0);
    EXPECT_EQ(d.reason, static_cast<std::uint32_t>(KC_R_NO_MEMORY));
    EXPECT_EQ(state(*a).generation, 1u);

    ASSERT_EQ(begin(*a, 1), 0);
    ASSERT_EQ(set_max_clients(*a, 7), 0);
    kc_commit_reply r{};
    ASSERT_EQ(commit(*a, r), 0);
    EXPECT_EQ(r.generation, 2u);
}

// A commit without a reply buffer is not a size query: it fails with
// EINVAL/bad length instead of "succeeding" without committing, and the
// transaction stays open for a proper commit.
TEST_F(InProcess, CommitWithoutABufferIsRefused)
{
    auto a = admin();
    ASSERT_TRUE(a);
    ASSERT_EQ(begin(*a, 1), 0);
    ASSERT_EQ(set_max_clients(*a, 9), 0);
    std::size_t len = 0;
    EXPECT_EQ(a->getsockopt(kSysprotoControl, KC_OPT_TXN_COMMIT, nullptr, &len), -1);
    EXPECT_EQ(errno, EINVAL);
    kc_error_detail d{};
    len = sizeof d;
    ASSERT_EQ(a->getsockopt(kSysprotoControl, KC_OPT_LAST_ERROR, &d, &len), 0);
    EXPECT_EQ(d.reason, static_cast<std::uint32_t>(KC_R_BAD_LENGTH));
    EXPECT_EQ(state(*a).generation, 1u) << "nothing committed";
    kc_commit_reply r{};
    ASSERT_EQ(commit(*a, r), 0) << "the transaction is still open";
    EXPECT_EQ(r.generation, 2u);
    // Read options still answer a size query.
    len = 0;
    EXPECT_EQ(a->getsockopt(kSysprotoControl, KC_OPT_STATE, nullptr, &len), 0);
    EXPECT_EQ(len, static_cast<std::size_t>(KC_OPT_MAX_LEN));
}

// Any local user can connect to the query control in a loop: those client
// events have their own budget (16 a second, kernel.md), the excess shows as
// lost in an overflow report, and a commit's events still go out.
TEST_F(InProcess, QueryClientChurnHasItsOwnEventBudget)
{
    auto a = admin();
    ASSERT_TRUE(a);
    InProcessEvents events;
    ASSERT_EQ(listen_to_kext(events, kBundleId), 0);
    // At least 100 connections, and on until the budget dropped some (a
    // slow machine spreads them over more one-second windows).
    auto dropped = [&] {
        kc_counters c{};
        std::size_t len = sizeof c;
        return a->getsockopt(kSysprotoControl, KC_OPT_COUNTERS, &c, &len) == 0 && c.events_dropped > 0;
    };
    const auto t0 = std::chrono::steady_clock::now();
    int loops = 0;
    for (; loops < 100 || !dropped(); ++loops) {
        ASSERT_LT(loops, 1'000'000) << "query client events are never dropped";
        int err = 0;
        auto q = InProcessControl::connect(kQuery, kNobody, err);
        ASSERT_TRUE(q) << std::strerror(err);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(begin(*a, 1), 0);
    ASSERT_EQ(set_max_clients(*a, 5), 0);
    kc_commit_reply r{};
    ASSERT_EQ(commit(*a, r), 0);
    int client_events = 0;
    bool applied = false;
    std::uint32_t lost = 0;
    std::uint8_t buf[256];
    for (ssize_t n; (n = events.recv(buf, sizeof buf)) > 24;) {
        std::uint32_t code = 0;
        std::memcpy(&code, buf + 20, sizeof code); // kern_event_msg.event_code
        auto ev = decode_event(code, ByteView(buf + 24, static_cast<std::size_t>(n) - 24));
        ASSERT_TRUE(ev);
        if (code == KC_EV_CLIENT_CONNECTED || code == KC_EV_CLIENT_DISCONNECTED)
            ++client_events;
        else if (code == KC_EV_OVERFLOW)
            lost += ev->overflow.lost;
        else if (code == KC_EV_APPLIED)
            applied = true;
    }
    EXPECT_TRUE(applied) << "the commit's event went out";
    // 16 in each one-second window the loop touched (and the commit's).
    const int windows = static_cast<int>(secs) + 2;
    EXPECT_LE(client_events, 16 * windows) << "query client events are not limited";
    EXPECT_GT(lost, 0u);
    EXPECT_EQ(client_events + static_cast<int>(lost), 2 * loops) << "every dropped one is counted as lost";
    std::printf("[ figures ] query client churn: %d connections in %.2f s, %d client events out, %u lost\n", loops,
                secs, client_events, lost);
}

// A kern_event the kext could not post still uses up a sequence number, so a
// listener sees the gap and knows to re-read state.
TEST_F(InProcess, EventPostFailureShowsAsSequenceGap)
{
    auto a = admin();
    ASSERT_TRUE(a);
    InProcessEvents events;
    ASSERT_EQ(listen_to_kext(events, kBundleId), 0);
    std::uint64_t gen = 1;
    kc_commit_reply r{};
    ASSERT_TRUE(host.fail_nth("event", 1));
    ASSERT_EQ(begin(*a, gen), 0);
    ASSERT_EQ(commit(*a, r), 0) << "a lost event does not fail the commit";
    host.clear_faults();
    gen = r.generation;
    ASSERT_EQ(begin(*a, gen), 0);
    ASSERT_EQ(commit(*a, r), 0);
    // started=1, connect=2, the lost applied=3; then the overflow report=4
    // goes out ahead of the next event, applied=5.
    std::uint8_t buf[256];
    ssize_t n = events.recv(buf, sizeof buf);
    ASSERT_GT(n, 24);
    auto ovf = decode_event(KC_EV_OVERFLOW, ByteView(buf + 24, static_cast<std::size_t>(n) - 24));
    ASSERT_TRUE(ovf);
    EXPECT_EQ(ovf->hdr.seq, 4u);
    EXPECT_EQ(ovf->overflow.lost, 1u);
    EXPECT_EQ(ovf->overflow.lost_total, 1u);
    EXPECT_EQ(ovf->overflow.reason, KC_OVF_POST_FAILED);
    n = events.recv(buf, sizeof buf);
    ASSERT_GT(n, 24);
    auto ev = decode_event(KC_EV_APPLIED, ByteView(buf + 24, static_cast<std::size_t>(n) - 24));
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->hdr.seq, 5u) << "seq 3 was lost";
    EXPECT_EQ(ev->generation, 3u);
    EXPECT_EQ(state(*a).event_seq, 5u);
    kc_counters c{};
    std::size_t len = sizeof c;
    ASSERT_EQ(a->getsockopt(kSysprotoControl, KC_OPT_COUNTERS, &c, &len), 0);
    EXPECT_EQ(c.events_dropped, 1u);
    EXPECT_EQ(c.events_posted, 4u) << "started, connect, overflow, applied";
    EXPECT_EQ(c.commits, 2u);
}

} // namespace
