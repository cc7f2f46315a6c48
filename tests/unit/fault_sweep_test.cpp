// Fault-injection sweeps over the reference kext in kextsim's in-process
// mode: for every fault site and every scenario (kext start, a transaction
// with its event posting, kext stop), fail the 1st, 2nd, 3rd ... call at the
// site until a run injects no fault any more. After each injected fault:
//  - the caller got an errno (or the operation was one that may lose only an
//    event, and then the loss shows as a sequence gap);
//  - the previous snapshot is intact: generation, hash and every value read
//    back are unchanged, and the hash recomputed from the values with
//    proto::config_hash equals kc_state.config_hash;
//  - the same operation without the fault then succeeds (nothing was left
//    half-done: no transaction stuck open, no client miscounted);
//  - unloading the kext reports no leak and nothing left registered.
// The walk stops on its own, so new allocation, enqueue or event sites in the
// kernel library are covered without touching this file.
#include <kextconf/codec.hpp>

#include "../support/inproc_kext.hpp"

#include "../support/snapshot_read.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace kextconf::proto;
using namespace kctest::inproc;

constexpr std::uint64_t kMaxWalk = 400; // far above any site's call count in one scenario

using Snapshot = kctest::SnapshotRead;
using kctest::same_snapshot;

int err_of(int rc)
{
    return rc == 0 ? 0 : errno;
}

// A whole snapshot (tests/support/snapshot_read.hpp), checked: generation
// steady across the reads and the hash matching the values. Needs a
// privileged reader (the query control hides the hash when a tunable is
// hidden).
std::optional<Snapshot> observe(InProcessControl& c)
{
    std::string why;
    auto s = kctest::read_quiet_snapshot(c, why);
    if (!s)
        ADD_FAILURE() << why;
    return s;
}

// The transaction every scenario pushes: three tunables of three types.
// The transaction every scenario pushes: tunables of every type the
// reference kext has, by name; the lists big enough to travel in several
// chunks (each chunk is a separate TXN_SET with its own allocations).
std::vector<std::pair<std::uint32_t, Value>> changes()
{
    static std::vector<std::pair<std::uint32_t, Value>> cached;
    if (!cached.empty())
        return cached;
    int e = 0;
    auto c = InProcessControl::connect(kBundleId, 0, e);
    if (!c) {
        ADD_FAILURE() << "connect to resolve tunable names: " << std::strerror(e);
        return {};
    }
    std::vector<std::int64_t> ports;
    for (std::int64_t p = 1; p <= 3000; ++p)
        ports.push_back(p * 7 % 65535 + 1);
    std::vector<std::string> paths;
    for (int i = 0; i < 200; ++i)
        paths.push_back("/opt/sweep/bin/tool-" + std::to_string(i));
    const std::pair<const char*, Value> wanted[] = {
        {"max_clients", Value::of_uint(100)},        {"label", Value::of_string("after the sweep")},
        {"sample_interval_ms", Value::of_int(250)},  {"blocked_ports", Value::of_ints(ports)},
        {"trusted_paths", Value::of_strings(paths)},
    };
    for (const auto& [name, v] : wanted) {
        const int index = kctest::tunable_index(*c, name);
        if (index >= 0) // lists arrive with the kext that has them
            cached.emplace_back(static_cast<std::uint32_t>(index), v);
    }
    EXPECT_GE(cached.size(), 3u) << "the reference kext lost its tunables";
    return cached;
}

// connect admin, begin, set each change, commit; the errno of the first step
// that failed (0 if all succeeded) and the step's name.
struct TxnResult {
    int err = 0;
    std::string step;
};

// The kext's reason for the last refusal on `c`, for messages.
std::string last_reason(InProcessControl& c)
{
    kc_error_detail d{};
    std::size_t len = sizeof d;
    if (c.getsockopt(kSysprotoControl, KC_OPT_LAST_ERROR, &d, &len) != 0)
        return "(no last error)";
    return " (" + std::string(reason_text(d.reason)) + ")";
}

TxnResult push_steps(std::unique_ptr<InProcessControl>& admin, std::uint64_t generation);

// Like kextconfd's KextClient::apply: after a failed set the client aborts
// (a failed set leaves the transaction open); the abort must work too.
TxnResult push(std::unique_ptr<InProcessControl>& admin, std::uint64_t generation)
{
    TxnResult r = push_steps(admin, generation);
    if (r.err > 0 && admin) {
        r.step += last_reason(*admin);
        if (r.step.rfind("set", 0) == 0 && admin->setsockopt(kSysprotoControl, KC_OPT_TXN_ABORT, nullptr, 0) != 0)
            r.step += "; abort failed: " + std::string(std::strerror(errno));
    }
    return r;
}

TxnResult push_steps(std::unique_ptr<InProcessControl>& admin, std::uint64_t generation)
{
    int err = 0;
    if (!admin) {
        admin = InProcessControl::connect(kBundleId, 0, err);
        if (!admin)
            return {err ? err : -1, "connect"};
    }
    const kc_txn_begin b{generation};
    if (int e = err_of(admin->setsockopt(kSysprotoControl, KC_OPT_TXN_BEGIN, &b, sizeof b)))
        return {e, "begin"};
    for (const auto& [index, v] : changes()) {
        for (const auto& chunk : encode_set_chunks(index, v)) {
            if (int e = err_of(admin->setsockopt(kSysprotoControl, KC_OPT_TXN_SET, chunk.data(), chunk.size())))
                return {e, "set " + std::to_string(index)};
        }
    }
    kc_commit_reply r{};
    std::size_t len = sizeof r;
    if (int e = err_of(admin->getsockopt(kSysprotoControl, KC_OPT_TXN_COMMIT, &r, &len)))
        return {e, "commit"};
    if (r.generation != generation + 1)
        return {-1, "commit reply generation " + std::to_string(r.generation)};
    return {};
}

bool has_changes(const Snapshot& s)
{
    for (const auto& [index, v] : changes())
        if (!(s.values.at(index) == v))
            return false;
    return true;
}

// Every event a listener holds: sequence numbers must grow; returns them.
std::vector<std::uint32_t> drain_seqs(InProcessEvents& ev)
{
    std::vector<std::uint32_t> seqs;
    std::uint8_t buf[512];
    for (;;) {
        const ssize_t n = ev.recv(buf, sizeof buf);
        if (n < 0)
            break;
        EXPECT_GE(n, 24 + static_cast<ssize_t>(sizeof(kc_event_hdr)));
        kc_event_hdr h{};
        std::memcpy(&h, buf + 24, sizeof h);
        if (!seqs.empty()) {
            EXPECT_GT(h.seq, seqs.back()) << "event sequence numbers must grow";
        }
        seqs.push_back(h.seq);
    }
    return seqs;
}

enum class Scenario { Start, Transaction, Stop };

struct Param {
    Scenario scenario;
    const char* site;
};

std::string param_name(const ::testing::TestParamInfo<Param>& info)
{
    const char* s = info.param.scenario == Scenario::Start         ? "Start"
                    : info.param.scenario == Scenario::Transaction ? "Transaction"
                                                                   : "Stop";
    return std::string(s) + "_" + info.param.site;
}

class FaultSweep : public ::testing::TestWithParam<Param> {
protected:
    void TearDown() override
    {
        host.clear_faults();
        std::string msg;
        host.unload(kBundleId, msg);
        std::printf("[ sweep ] %s: %d faults injected, %d made the operation fail, %d survived\n",
                    param_name({GetParam(), 0}).c_str(), injected, failed, injected - failed);
    }

    // Unload must succeed and leave nothing behind.
    void unload_clean()
    {
        std::string msg;
        ASSERT_EQ(host.unload(kBundleId, msg), 0) << msg;
        EXPECT_EQ(msg.find("leak"), std::string::npos) << msg;
        EXPECT_EQ(msg.find("still registered"), std::string::npos) << msg;
    }

    void sweep_start(std::uint64_t n);
    void sweep_transaction(std::uint64_t n);
    void sweep_stop(std::uint64_t n);

    InProcessHost host;
    bool done = false; // a run injected no fault: the site has no more calls to fail
    int injected = 0;
    int failed = 0;
};

void FaultSweep::sweep_start(std::uint64_t n)
{
    const std::uint64_t before = host.faults_injected();
    ASSERT_TRUE(host.fail_nth(GetParam().site, n));
    const std::string err = host.load(KEXTCONF_TEST_KEXT_BUNDLE);
    host.clear_faults();
    if (host.faults_injected() == before) {
        ASSERT_EQ(err, "") << "no fault injected, so start must succeed";
        done = true;
    } else {
        ++injected;
    }
    if (!err.empty()) {
        ++failed;
        // A failed start leaves no control, no OID, no memory.
        expect_failed_start_left_nothing(err);
        return;
    }
    // Started despite the fault (it hit something start may do without, such
    // as an event): it must work and stop cleanly.
    int e = 0;
    auto a = InProcessControl::connect(kBundleId, 0, e);
    ASSERT_TRUE(a) << std::strerror(e);
    auto s = observe(*a);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->state.generation, 1u);
    std::unique_ptr<InProcessControl> w;
    const TxnResult r = push(w, 1);
    EXPECT_EQ(r.err, 0) << r.step;
    a.reset();
    w.reset();
    unload_clean();
}

void FaultSweep::sweep_transaction(std::uint64_t n)
{
    ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
    int e = 0;
    auto reader = InProcessControl::connect(kBundleId, 0, e); // privileged: sees the hash
    ASSERT_TRUE(reader) << std::strerror(e);
    InProcessEvents events;
    ASSERT_EQ(listen_to_kext(events, kBundleId, KC_EVENT_CLASS), 0);
    const auto before = observe(*reader);
    ASSERT_TRUE(before);
    drain_seqs(events);

    const std::uint64_t faults_before = host.faults_injected();
    ASSERT_TRUE(host.fail_nth(GetParam().site, n));
    std::unique_ptr<InProcessControl> admin;
    const TxnResult r = push(admin, before->state.generation);
    // A query client coming and going (connect/disconnect events, client count).
    auto q = InProcessControl::connect(kQuery, 65534, e);
    const int q_err = q ? 0 : e;
    q.reset();
    host.clear_faults();
    const bool fault = host.faults_injected() != faults_before;
    if (!fault)
        done = true;
    else
        ++injected;
    SCOPED_TRACE("step " + r.step + " errno " + std::to_string(r.err));

    const auto after = observe(*reader);
    ASSERT_TRUE(after);
    if (r.err != 0) {
        ++failed;
        ASSERT_TRUE(fault) << "failed without an injected fault";
        EXPECT_GT(r.err, 0) << "the caller must get an errno";
        EXPECT_TRUE(same_snapshot(*before, *after)) << "a failed transaction changed the snapshot";
    } else {
        EXPECT_EQ(after->state.generation, before->state.generation + 1);
        EXPECT_TRUE(has_changes(*after));
    }
    if (q_err != 0) {
        if (r.err == 0)
            ++failed;
        ASSERT_TRUE(fault);
        EXPECT_EQ(q_err, ENOMEM) << "query connect";
    }
    // Events: sequence numbers grow; every number used is either delivered
    // or shows as a gap before a later event (a lost event is never silent).
    auto seqs = drain_seqs(events);

    // Recovery: the same work without a fault succeeds on the same
    // connection (no transaction left open, nothing stuck).
    if (r.err != 0) {
        const TxnResult again = push(admin, after->state.generation);
        ASSERT_EQ(again.err, 0) << "retry failed at " << again.step;
        const auto fixed = observe(*reader);
        ASSERT_TRUE(fixed);
        EXPECT_TRUE(has_changes(*fixed));
    } else {
        // One more commit so a lost last event shows as a gap too.
        const kc_txn_begin b{after->state.generation};
        ASSERT_EQ(admin->setsockopt(kSysprotoControl, KC_OPT_TXN_BEGIN, &b, sizeof b), 0);
        kc_commit_reply cr{};
        std::size_t len = sizeof cr;
        ASSERT_EQ(admin->getsockopt(kSysprotoControl, KC_OPT_TXN_COMMIT, &cr, &len), 0);
    }
    const auto more = drain_seqs(events);
    seqs.insert(seqs.end(), more.begin(), more.end());
    kc_state st{};
    std::size_t len = sizeof st;
    ASSERT_EQ(reader->getsockopt(kSysprotoControl, KC_OPT_STATE, &st, &len), 0);
    ASSERT_FALSE(seqs.empty()) << "the final commit's event must arrive";
    EXPECT_EQ(seqs.back(), st.event_seq) << "the last event posted is the last one seen";
    EXPECT_EQ(st.clients, 2u) << "reader and admin only: a failed connect must not count";
    admin.reset();
    reader.reset();
    unload_clean();
}

void FaultSweep::sweep_stop(std::uint64_t n)
{
    ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
    {
        std::unique_ptr<InProcessControl> admin;
        const TxnResult r = push(admin, 1);
        ASSERT_EQ(r.err, 0) << r.step;
    }
    const std::uint64_t faults_before = host.faults_injected();
    ASSERT_TRUE(host.fail_nth(GetParam().site, n));
    std::string msg;
    const int rc = host.unload(kBundleId, msg);
    host.clear_faults();
    if (host.faults_injected() == faults_before)
        done = true;
    else
        ++injected;
    if (rc == 0) {
        EXPECT_EQ(msg.find("leak"), std::string::npos) << msg;
        EXPECT_EQ(msg.find("still registered"), std::string::npos) << msg;
        return;
    }
    // Refused: the kext must still be whole, holding the committed snapshot.
    ++failed;
    ASSERT_EQ(rc, EBUSY) << msg;
    int e = 0;
    auto a = InProcessControl::connect(kBundleId, 0, e);
    ASSERT_TRUE(a) << std::strerror(e);
    auto s = observe(*a);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->state.generation, 2u);
    EXPECT_TRUE(has_changes(*s));
    a.reset();
    unload_clean();
}

TEST_P(FaultSweep, EveryCallFailsInTurn)
{
    for (std::uint64_t n = 1; n <= kMaxWalk && !done; ++n) {
        SCOPED_TRACE("fail call #" + std::to_string(n) + " at " + GetParam().site);
        switch (GetParam().scenario) {
        case Scenario::Start: sweep_start(n); break;
        case Scenario::Transaction: sweep_transaction(n); break;
        case Scenario::Stop: sweep_stop(n); break;
        }
        if (HasFatalFailure() || (HasFailure() && n > 3))
            return;
    }
    EXPECT_TRUE(done) << "the site still fired after " << kMaxWalk << " calls";
}

constexpr const char* kSites[] = {"alloc", "enqueue", "enobufs", "event", "rw_upgrade"};

std::vector<Param> all_params()
{
    std::vector<Param> out;
    for (Scenario s : {Scenario::Start, Scenario::Transaction, Scenario::Stop})
        for (const char* site : kSites)
            out.push_back({s, site});
    return out;
}

INSTANTIATE_TEST_SUITE_P(AllSites, FaultSweep, ::testing::ValuesIn(all_params()), param_name);

// The sweep must reach the sites it claims: allocation in start and in a
// transaction, and event posting in a commit, fail at least once each (a
// sweep that injected nothing would pass vacuously).
TEST(FaultSweepReach, AllocAndEventSitesAreHit)
{
    InProcessHost host;
    ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
    // "stall" needs a client that can go away: kextsim boot only.
    EXPECT_FALSE(host.fail_nth("stall", 1));
    EXPECT_FALSE(host.fail_nth("no_such_site", 1));
    std::unique_ptr<InProcessControl> admin;
    ASSERT_TRUE(host.fail_nth("alloc", 1));
    std::uint64_t before = host.faults_injected();
    TxnResult r = push(admin, 1);
    EXPECT_EQ(host.faults_injected(), before + 1) << "connect or begin allocates";
    EXPECT_EQ(r.err, ENOMEM) << r.step;
    host.clear_faults();
    ASSERT_TRUE(host.fail_nth("event", 1));
    before = host.faults_injected();
    r = push(admin, 1);
    EXPECT_EQ(r.err, 0) << r.step;
    EXPECT_EQ(host.faults_injected(), before + 1) << "a commit posts an event";
    host.clear_faults();
    admin.reset();
    std::string msg;
    EXPECT_EQ(host.unload(kBundleId, msg), 0) << msg;
}

} // namespace
