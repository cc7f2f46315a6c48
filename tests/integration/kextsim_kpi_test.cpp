// kextsim's fidelity to XNU for locks, memory, time and threads (issue 3,
// rule 3; shared/reference/xnu-kpi.md section 5), one test per rule, driven
// through the contract test kext (tests/kexts/contract): CC_OPT_LOCK_OPS runs
// a list of lock and allocation calls on the client's own host thread, the
// other commands make one OSMalloc, msleep, wakeup or clock call each.
//
// Misuse that XNU answers with a panic (or, without lock debugging, a hang or
// corruption) must end the kextsim host with SIGABRT and a "kextsim: panic:"
// line naming the rule; those tests use a DyingHost of their own.
//
// A test that shows kextsim deviating from XNU is DISABLED_ with a comment
// saying what XNU does and what kextsim does, until kextsim is fixed.
#include "contract_client.hpp"
#include "process.hpp"

#include <csignal>
#include <cstdio>
#include <future>
#include <initializer_list>
#include <thread>

namespace {

using namespace kctest;
using Clock = std::chrono::steady_clock;

// THREAD_CALL_OPTIONS_ONCE (kern/thread_call.h).
constexpr std::uint32_t THREAD_CALL_OPTIONS_ONCE_VALUE = 0x1;

// Darwin's EWOULDBLOCK (EAGAIN), msleep's "timed out".
constexpr int kDarwinEWOULDBLOCK = 35;

// ---- driving CC_OPT_LOCK_OPS ----

struct OpsResult {
    bool done = false;        // the command ran (the host answered)
    std::uint32_t ran = 0;    // bit i: op i ran (its condition held)
    std::uint32_t truths = 0; // bit i: op i returned TRUE / a block (or has no return value)
};

// Runs `ops` in one command; a refused or failed command is a test failure.
OpsResult lock_ops(ContractClient& c, std::initializer_list<std::uint32_t> ops)
{
    cc_lock_ops req{};
    for (const std::uint32_t op : ops)
        req.ops[req.count++] = op;
    const int e = c.set(CC_OPT_LOCK_OPS, req);
    if (e != 0) {
        ADD_FAILURE() << "CC_OPT_LOCK_OPS failed: " << std::strerror(e);
        return {};
    }
    const cc_result r = c.result();
    return {true, r.id, r.sendsize};
}

// The same, for a command that must kill the host: true if it did not answer.
bool lock_ops_dies(ContractClient& c, std::initializer_list<std::uint32_t> ops)
{
    cc_lock_ops req{};
    for (const std::uint32_t op : ops)
        req.ops[req.count++] = op;
    return c.set(CC_OPT_LOCK_OPS, req) != 0;
}

constexpr std::uint32_t bits(std::initializer_list<int> set)
{
    std::uint32_t out = 0;
    for (const int b : set)
        out |= 1u << b;
    return out;
}

// The image the kext's code is in: misuse messages name the site by it.
constexpr const char* kContractImage = "KextsimContract";

// Runs `fn` on its own thread (a client command that sleeps or blocks in the
// host). If it has not finished within `limit`, the host is SIGKILLed so that
// its sockets fail and the test ends instead of hanging.
template <class Fn> auto bounded(Process& host, Millis limit, Fn fn)
{
    auto f = std::async(std::launch::async, std::move(fn));
    if (f.wait_for(limit) != std::future_status::ready) {
        ADD_FAILURE() << "a command did not return within " << limit.count() << " ms; killing the host";
        host.kill();
    }
    return f.get();
}

class KextsimKpi : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }

    std::unique_ptr<ContractClient> connect() { return connect_client(host_.root()); }

    std::uint32_t sleepers(ContractClient& c) { return c.get<std::uint32_t>(CC_OPT_SLEEPERS); }

    // CC_OPT_MSLEEP; the msleep result and how long the kext was asleep.
    struct Slept {
        int err = -1;
        std::uint32_t us = 0;
    };
    static Slept msleep_cmd(ContractClient& c, std::uint32_t timeout_ms, bool pdrop)
    {
        const cc_msleep_req req{timeout_ms, pdrop ? 1u : 0u};
        const int e = c.set(CC_OPT_MSLEEP, req);
        EXPECT_EQ(e, 0) << "CC_OPT_MSLEEP failed (the kext asserts the mutex state on return): " << std::strerror(e);
        if (e != 0)
            return {};
        const cc_result r = c.result();
        return {r.err, r.id};
    }

    KextsimHost host_{contract_bundle(), CC_BUNDLE_ID};
};

// ---- lck_mtx_assert ----

TEST_F(KextsimKpi, MtxAssertOwnedPassesWhenHeld)
{
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a && b);
    const OpsResult r = lock_ops(*a, {CC_LK_MTX_ASSERT_NOTOWNED, CC_LK_MTX_LOCK, CC_LK_MTX_ASSERT_OWNED,
                                      CC_LK_MTX_UNLOCK, CC_LK_MTX_ASSERT_NOTOWNED});
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.ran, bits({0, 1, 2, 3, 4}));

    // Ownership is per thread: a mutex another thread holds is NOTOWNED here.
    ASSERT_EQ(lock_ops(*a, {CC_LK_MTX_LOCK}).ran, bits({0}));
    EXPECT_EQ(lock_ops(*b, {CC_LK_MTX_ASSERT_NOTOWNED}).ran, bits({0}));
    EXPECT_EQ(lock_ops(*a, {CC_LK_MTX_ASSERT_OWNED, CC_LK_MTX_UNLOCK}).ran, bits({0, 1}))
        << "a's hold lasts across its commands (one host thread per client)";
    EXPECT_TRUE(host_.process().running());
}

// The contract kext in a host each test expects to die (SIGABRT, as XNU
// would panic), with clients of its own.
class KextsimKpiCrashes : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }

    std::unique_ptr<ContractClient> connect()
    {
        auto c = connect_client(host_.root());
        EXPECT_TRUE(c);
        return c;
    }

    // Ends the host: it died of SIGABRT with a panic line naming each of
    // `words`; returns the line for further checks.
    std::string expect_panic(std::initializer_list<std::string> words)
    {
        const Result r = host_.end();
        EXPECT_EQ(r.term_signal, SIGABRT) << r.describe();
        const std::string panic = panic_line(r);
        for (const std::string& w : words)
            EXPECT_NE(panic.find(w), std::string::npos) << "the panic names " << w << ": " << r.describe();
        return panic;
    }

    DyingHost host_{contract_bundle(), CC_BUNDLE_ID};
};

TEST_F(KextsimKpiCrashes, MtxAssertOwnedAbortsWhenNotHeld)
{
    auto a = connect();
    ASSERT_TRUE(a);
    EXPECT_TRUE(lock_ops_dies(*a, {CC_LK_MTX_ASSERT_OWNED})) << "XNU panics here";
    expect_panic({"lck_mtx_assert", "LCK_MTX_ASSERT_OWNED", kContractImage});
}

TEST_F(KextsimKpiCrashes, MtxAssertOwnedAbortsWhenAnotherThreadHoldsIt)
{
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a && b);
    ASSERT_EQ(lock_ops(*a, {CC_LK_MTX_LOCK}).ran, bits({0}));
    EXPECT_TRUE(lock_ops_dies(*b, {CC_LK_MTX_ASSERT_OWNED})) << "locked, but not by this thread";
    expect_panic({"lck_mtx_assert"});
}

TEST_F(KextsimKpiCrashes, MtxAssertNotOwnedAbortsWhenHeld)
{
    auto a = connect();
    ASSERT_TRUE(a);
    EXPECT_TRUE(lock_ops_dies(*a, {CC_LK_MTX_LOCK, CC_LK_MTX_ASSERT_NOTOWNED}));
    expect_panic({"lck_mtx_assert", "LCK_MTX_ASSERT_NOTOWNED"});
}

// ---- ownership ----

// XNU: "lck_mtx_unlock(): Attempt to release lock not owned by thread".
TEST_F(KextsimKpiCrashes, UnlockOfUnownedMutexAbortsWithTheSite)
{
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a && b);
    ASSERT_EQ(lock_ops(*a, {CC_LK_MTX_LOCK}).ran, bits({0}));
    EXPECT_TRUE(lock_ops_dies(*b, {CC_LK_MTX_UNLOCK})) << "b unlocks the mutex a holds";
    expect_panic({"lck_mtx", "does not hold", kContractImage}); // the kext image of the call site
}

TEST_F(KextsimKpiCrashes, FreeingAHeldLockAborts)
{
    auto a = connect();
    ASSERT_TRUE(a);
    EXPECT_TRUE(lock_ops_dies(*a, {CC_LK_FREE_HELD_MTX})) << "lck_mtx_free of a locked mutex";
    expect_panic({"lck_mtx", "freed while held", kContractImage});
}

// ---- spin locks: the holder may not block ----

TEST_F(KextsimKpi, SpinLockHolderMayCallOSMallocNoblock)
{
    auto a = connect();
    ASSERT_TRUE(a);
    const OpsResult r = lock_ops(*a, {CC_LK_SPIN_LOCK, CC_LK_OSMALLOC_NOBLOCK, CC_LK_SPIN_UNLOCK, CC_LK_OSMALLOC,
                                      CC_LK_MTX_LOCK, CC_LK_MTX_UNLOCK});
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.ran, bits({0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(r.truths, bits({0, 1, 2, 3, 4, 5})) << "both allocations returned a block";
}

TEST_F(KextsimKpiCrashes, SpinLockHolderTakingAMutexAborts)
{
    auto a = connect();
    ASSERT_TRUE(a);
    EXPECT_TRUE(lock_ops_dies(*a, {CC_LK_SPIN_LOCK, CC_LK_MTX_LOCK}));
    expect_panic({"lck_mtx", "may block", "spin lock"});
}

TEST_F(KextsimKpiCrashes, SpinLockHolderCallingOSMallocAborts)
{
    auto a = connect();
    ASSERT_TRUE(a);
    EXPECT_TRUE(lock_ops_dies(*a, {CC_LK_SPIN_LOCK, CC_LK_OSMALLOC}));
    expect_panic({"OSMalloc", "may block", "spin lock"});
}

// ---- lck_rw ----

TEST_F(KextsimKpi, RwUpgradeSucceedsWhenAlone)
{
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a && b);
    const OpsResult up = bounded(host_.process(), 5000ms, [&] {
        return lock_ops(*a, {CC_LK_RW_LOCK_SHARED, CC_LK_RW_UPGRADE});
    });
    ASSERT_TRUE(up.done);
    ASSERT_EQ(up.ran, bits({0, 1}));
    EXPECT_EQ(up.truths, bits({0, 1})) << "lck_rw_lock_shared_to_exclusive returned TRUE";

    // a holds it exclusive now: b can take it neither way.
    EXPECT_EQ(lock_ops(*b, {CC_LK_RW_TRY_SHARED, CC_LK_RW_UNLOCK_SHARED | CC_LK_IF_TRUE}).truths, 0u);
    EXPECT_EQ(lock_ops(*b, {CC_LK_RW_TRY_EXCLUSIVE, CC_LK_RW_UNLOCK_EXCLUSIVE | CC_LK_IF_TRUE}).truths, 0u);
    // Unlocking it exclusive is what a holds (kextsim aborts otherwise).
    EXPECT_EQ(lock_ops(*a, {CC_LK_RW_UNLOCK_EXCLUSIVE}).ran, bits({0}));
    const OpsResult after = lock_ops(*b, {CC_LK_RW_TRY_SHARED, CC_LK_RW_UNLOCK_SHARED | CC_LK_IF_TRUE});
    EXPECT_EQ(after.ran, bits({0, 1}));
    EXPECT_EQ(after.truths, bits({0, 1})) << "free again once a released it";
}

// The failed upgrade is forced (--fail rw_upgrade:1); on XNU it is the one
// that finds another upgrade pending. Either way FALSE means the shared hold
// is gone too.
TEST(KextsimKpiFaults, RwUpgradeFailureDropsTheLock)
{
    KextsimHost host(contract_bundle(), CC_BUNDLE_ID, {"--fail", "rw_upgrade:1"});
    ASSERT_TRUE(host.ready());
    auto a = connect_client(host.root());
    auto b = connect_client(host.root());
    ASSERT_TRUE(a && b);
    const OpsResult r = lock_ops(*a, {CC_LK_RW_LOCK_SHARED, CC_LK_RW_UPGRADE, CC_LK_RW_TRY_EXCLUSIVE | CC_LK_IF_FALSE,
                                      CC_LK_RW_UNLOCK_EXCLUSIVE | CC_LK_IF_TRUE});
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.ran, bits({0, 1, 2, 3})) << "the upgrade failed, so the try-lock ran";
    EXPECT_EQ(r.truths, bits({0, 2, 3})) << "FALSE from the upgrade; the exclusive try-lock then succeeded";
    EXPECT_TRUE(host.process().wait_for_err("fault injected: rw_upgrade call #1", 2000ms)) << host.process().err();

    // Nothing is left held, and only the first upgrade was failed.
    const OpsResult free = lock_ops(*b, {CC_LK_RW_TRY_EXCLUSIVE, CC_LK_RW_UNLOCK_EXCLUSIVE | CC_LK_IF_TRUE});
    EXPECT_EQ(free.truths, bits({0, 1}));
    const OpsResult second = bounded(host.process(), 5000ms, [&] {
        return lock_ops(*a, {CC_LK_RW_LOCK_SHARED, CC_LK_RW_UPGRADE, CC_LK_RW_UNLOCK_EXCLUSIVE | CC_LK_IF_TRUE});
    });
    EXPECT_EQ(second.ran, bits({0, 1, 2}));
    EXPECT_EQ(second.truths, bits({0, 1, 2}));
    host.stop();
}

// XNU fails lck_rw_lock_shared_to_exclusive when another upgrade is already
// pending, dropping the caller's shared hold: of two readers upgrading at
// once, one gets the lock and the other gets FALSE and holds nothing.
TEST_F(KextsimKpi, SecondOfTwoUpgradesFailsAndDropsTheLock)
{
    auto a = connect();
    auto b = connect();
    auto c = connect();
    ASSERT_TRUE(a && b && c);
    ASSERT_EQ(lock_ops(*a, {CC_LK_RW_LOCK_SHARED}).ran, bits({0}));
    ASSERT_EQ(lock_ops(*b, {CC_LK_RW_LOCK_SHARED}).ran, bits({0}));
    // Each upgrades and, if it got the lock, releases it; the first to ask
    // waits for the other reader, whose upgrade must then fail.
    auto upgrade = [](ContractClient& cl) {
        return lock_ops(cl, {CC_LK_RW_UPGRADE, CC_LK_RW_UNLOCK_EXCLUSIVE | CC_LK_IF_TRUE});
    };
    auto fa = std::async(std::launch::async, [&] { return upgrade(*a); });
    const OpsResult rb = bounded(host_.process(), 5000ms, [&] { return upgrade(*b); });
    if (fa.wait_for(5s) != std::future_status::ready) {
        ADD_FAILURE() << "a's upgrade never returned; killing the host";
        host_.process().kill();
    }
    const OpsResult ra = fa.get();
    ASSERT_TRUE(ra.done && rb.done);
    EXPECT_EQ((ra.truths & 1u) + (rb.truths & 1u), 1u)
        << "exactly one upgrade succeeds: a " << ra.truths << ", b " << rb.truths;
    const OpsResult free = lock_ops(*c, {CC_LK_RW_TRY_EXCLUSIVE, CC_LK_RW_UNLOCK_EXCLUSIVE | CC_LK_IF_TRUE});
    EXPECT_EQ(free.truths, bits({0, 1})) << "the loser holds nothing, the winner released";
}

TEST_F(KextsimKpi, RwDowngradeKeepsItShared)
{
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a && b);
    ASSERT_EQ(lock_ops(*a, {CC_LK_RW_LOCK_EXCLUSIVE}).ran, bits({0}));
    EXPECT_EQ(lock_ops(*b, {CC_LK_RW_TRY_SHARED, CC_LK_RW_UNLOCK_SHARED | CC_LK_IF_TRUE}).truths, 0u)
        << "exclusive: no reader gets in";
    ASSERT_EQ(lock_ops(*a, {CC_LK_RW_DOWNGRADE}).ran, bits({0}));
    EXPECT_EQ(lock_ops(*b, {CC_LK_RW_TRY_SHARED, CC_LK_RW_UNLOCK_SHARED | CC_LK_IF_TRUE}).truths, bits({0, 1}))
        << "shared after the downgrade: readers get in";
    EXPECT_EQ(lock_ops(*b, {CC_LK_RW_TRY_EXCLUSIVE, CC_LK_RW_UNLOCK_EXCLUSIVE | CC_LK_IF_TRUE}).truths, 0u)
        << "still held: no writer gets in";
    EXPECT_EQ(lock_ops(*a, {CC_LK_RW_UNLOCK_SHARED}).ran, bits({0})) << "a holds it shared (kextsim aborts otherwise)";
    EXPECT_EQ(lock_ops(*b, {CC_LK_RW_TRY_EXCLUSIVE, CC_LK_RW_UNLOCK_EXCLUSIVE | CC_LK_IF_TRUE}).truths, bits({0, 1}));
}

// ---- OSMalloc ----

// 256 and 32 bytes are in different kalloc zones, so XNU's kheap_free panics
// on this too (within one zone XNU would not notice; kextsim always does).
TEST_F(KextsimKpiCrashes, OSFreeWithTheWrongSizeAborts)
{
    auto a = connect();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->set(CC_OPT_FREE_MISMATCH, cc_free_req{256, 256}), 0) << "the right size is fine";
    EXPECT_NE(a->set(CC_OPT_FREE_MISMATCH, cc_free_req{256, 32}), 0) << "the host dies";
    const std::string panic = expect_panic({"OSFree"});
    EXPECT_TRUE(mentions_number(panic, 256)) << "names the allocated size: " << panic;
    EXPECT_TRUE(mentions_number(panic, 32)) << "names the size passed to OSFree: " << panic;
    EXPECT_NE(panic.find(std::string("\"") + CC_BUNDLE_ID + "\""), std::string::npos) << "names the tag: " << panic;
}

// XNU's OSMalloc_Tagfree only marks a tag with live blocks OSMT_RELEASED and
// drops its own reference; each block holds one, and the OSFree of the last
// block frees the tag (bsd/kern/kern_malloc.c, OSMalloc_Tagfree /
// OSMalloc_Tagrele). Nothing panics. (A fixed kextsim deviation: it aborted.)
TEST_F(KextsimKpi, TagfreeWithLiveBlocksIsDeferredToTheLastOSFree)
{
    {
        auto a = connect();
        ASSERT_TRUE(a);
        const std::uint32_t size = 48;
        EXPECT_EQ(a->command(CC_OPT_TAGFREE_LIVE, &size, sizeof size), 0)
            << "OSMalloc_Tagfree with a live block, then OSFree of the block";
        ASSERT_TRUE(host_.process().running()) << host_.process().describe();
    }
    ASSERT_TRUE(host_.wait_no_clients());
    const Result r = host_.kextsim({"unload", CC_BUNDLE_ID});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out.find(CC_LIVE_TAG), std::string::npos) << "the tag went with its last block:\n" << r.describe();
}

// XNU's OSMalloc_noblock (and OSMalloc_nowait) return NULL for a tag made
// with OSMT_PAGEABLE (bsd/kern/kern_malloc.c). (A fixed kextsim deviation: it
// ignored the tag's flags and returned a block.)
TEST_F(KextsimKpi, OSMallocNoblockFromAPageableTagIsNULL)
{
    auto a = connect();
    ASSERT_TRUE(a);
    ASSERT_EQ(a->set(CC_OPT_PAGEABLE_NOBLOCK, nullptr, 0), 0);
    EXPECT_EQ(a->result().id, 0u) << "OSMalloc_noblock returned a block from an OSMT_PAGEABLE tag";
}

TEST(KextsimKpiLeaks, LeakReportNamesTagAndSize)
{
    const Result r = unload_after_leaks({100, 28}).unload;
    EXPECT_EQ(r.exit_code, 0) << "a leak does not refuse the unload: " << r.describe();
    std::vector<std::string> leaks;
    std::istringstream lines(r.out + r.err);
    for (std::string line; std::getline(lines, line);)
        if (line.find("leak") != std::string::npos)
            leaks.push_back(line);
    ASSERT_EQ(leaks.size(), 1u) << "one leak line, for the one tag:\n" << r.describe();
    EXPECT_NE(leaks[0].find(std::string("tag \"") + CC_BUNDLE_ID + "\": 2 blocks, 128 bytes"), std::string::npos)
        << leaks[0];
}

// ---- fault injection ----

// --fail alloc:N fails the N-th allocation the host makes for kernel code
// (OSMalloc and kextsim's own kernel-domain allocations, counted from boot).
// The series starts after the same boot and connect in both hosts, so the
// failed OSMalloc moves by exactly the difference in N.
TEST(KextsimKpiFaults, FaultInjectionFailsTheNthAllocation)
{
    constexpr std::uint32_t kSeries = 16;
    struct Seen {
        std::uint32_t first_null = 0;
        std::uint32_t nulls = 0;
    };
    auto series_with = [&](std::uint64_t nth) -> Seen {
        KextsimHost host(contract_bundle(), CC_BUNDLE_ID, {"--fail", "alloc:" + std::to_string(nth)});
        EXPECT_TRUE(host.ready());
        auto a = connect_client(host.root());
        if (!a)
            return {};
        EXPECT_EQ(a->set(CC_OPT_ALLOC_SERIES, kSeries), 0);
        const cc_result r = a->result();
        const std::string line = "fault injected: alloc call #" + std::to_string(nth) + " fails";
        EXPECT_TRUE(host.process().wait_for_err(line, 2000ms)) << host.process().err();
        EXPECT_EQ(count_of(host.process().err(), "fault injected:"), 1u) << host.process().err();
        // Only the N-th: the next series gets every block.
        EXPECT_EQ(a->set(CC_OPT_ALLOC_SERIES, kSeries), 0);
        EXPECT_EQ(a->result().sendsize, 0u) << "a second series after alloc:" << nth;
        a.reset();
        host.stop();
        return {r.id, r.sendsize};
    };
    const Seen at8 = series_with(8);
    const Seen at11 = series_with(11);
    EXPECT_EQ(at8.nulls, 1u);
    EXPECT_EQ(at11.nulls, 1u);
    ASSERT_GE(at8.first_null, 1u) << "alloc call #8 came before the series";
    EXPECT_EQ(at11.first_null, at8.first_null + 3) << "the 11th call is 3 OSMallocs later than the 8th";
}

// ---- msleep / wakeup ----

TEST_F(KextsimKpi, MsleepTimesOut)
{
    auto a = connect();
    ASSERT_TRUE(a);
    for (const bool pdrop : {false, true}) {
        SCOPED_TRACE(pdrop ? "PDROP" : "no PDROP");
        const auto t0 = Clock::now();
        const Slept s = bounded(host_.process(), 10000ms, [&] { return msleep_cmd(*a, 20, pdrop); });
        const auto outer = Clock::now() - t0;
        EXPECT_EQ(s.err, kDarwinEWOULDBLOCK);
        EXPECT_GE(s.us, 20000u) << "the kext slept at least the 20 ms timeout";
        EXPECT_GE(outer, 20ms);
        std::printf("[ figures ] msleep 20 ms%s: the kext slept %u us, the test saw %.1f ms\n", pdrop ? " (PDROP)" : "",
                    s.us, std::chrono::duration<double, std::milli>(outer).count());
    }
    EXPECT_EQ(sleepers(*a), 0u);
}

// XNU's msleep treats a zero timespec like a NULL one: no timeout
// (bsd/kern/kern_synch.c: a deadline only `if (ts && (ts->tv_sec ||
// ts->tv_nsec))`). (A deviation this test found: kextsim used to time out at
// once with EWOULDBLOCK.)
TEST_F(KextsimKpi, MsleepWithAZeroTimespecWaitsForWakeup)
{
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a && b);
    auto slept = std::async(std::launch::async, [&] { return msleep_cmd(*a, 0, false); });
    const bool asleep = wait_until([&] { return sleepers(*b) == 1; }, 5000ms);
    EXPECT_TRUE(asleep) << "the zero-timeout msleep returned at once";
    if (asleep) {
        EXPECT_EQ(slept.wait_for(100ms), std::future_status::timeout) << "still asleep 100 ms later";
        ASSERT_EQ(b->set(CC_OPT_WAKEUP, nullptr, 0), 0);
        EXPECT_EQ(b->result().id, 1u);
    }
    if (slept.wait_for(5s) != std::future_status::ready) {
        ADD_FAILURE() << "msleep did not return after wakeup; killing the host";
        host_.process().kill();
    }
    EXPECT_EQ(slept.get().err, asleep ? 0 : -1);
}

TEST_F(KextsimKpi, WakeupEndsMsleep)
{
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a && b);
    // With a 10 s timeout, then with none (ts NULL) and PDROP. The kext
    // asserts on return that it holds the mutex again, or with PDROP that it
    // does not; a failed assertion kills the host and fails the command.
    for (const auto& [timeout_ms, pdrop] : {std::pair{10000u, false}, std::pair{CC_MSLEEP_NO_TIMEOUT, true}}) {
        SCOPED_TRACE(pdrop ? "no timeout, PDROP" : "10 s timeout");
        const auto t0 = Clock::now();
        auto slept = std::async(std::launch::async, [&, t = timeout_ms, p = pdrop] { return msleep_cmd(*a, t, p); });
        // The sleeper count is raised under the kext mutex, which msleep
        // drops only once the thread waits: then a wakeup cannot be missed.
        ASSERT_TRUE(wait_until([&] { return sleepers(*b) == 1; }, 5000ms)) << "a never went to sleep";
        ASSERT_EQ(b->set(CC_OPT_WAKEUP, nullptr, 0), 0);
        EXPECT_EQ(b->result().id, 1u) << "one thread was asleep when wakeup ran";
        if (slept.wait_for(5s) != std::future_status::ready) {
            ADD_FAILURE() << "msleep did not return after wakeup; killing the host";
            host_.process().kill();
        }
        const Slept s = slept.get();
        EXPECT_EQ(s.err, 0) << "woken, not timed out";
        std::printf("[ figures ] msleep woken after %.1f ms\n",
                    std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        EXPECT_EQ(sleepers(*b), 0u);
    }
}

// ---- clocks ----

TEST_F(KextsimKpi, MachAbsoluteTimeIsMonotonicAndConvertsToNanoseconds)
{
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a && b);
    cc_clock_io in{};
    in.sleep_ms = 50;
    const auto t0 = Clock::now();
    const cc_clock_io io = a->get(CC_OPT_CLOCK, in);
    const auto outer = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0);
    EXPECT_EQ(io.sleep_err, kDarwinEWOULDBLOCK) << "nobody wakes the clock channel";
    EXPECT_LE(io.abs_before, io.uptime_before) << "mach_absolute_time and clock_get_uptime are one clock";
    EXPECT_LT(io.uptime_before, io.uptime_after);
    EXPECT_LE(io.uptime_after, io.abs_after);
    EXPECT_GE(io.elapsed_ns, 50'000'000u) << "absolutetime_to_nanoseconds of a 50 ms sleep";
    EXPECT_LE(io.elapsed_ns, static_cast<std::uint64_t>(outer.count())) << "no longer than the test saw";
    const std::uint64_t abs = io.abs_after - io.abs_before;
    EXPECT_LE(io.roundtrip_abs > abs ? io.roundtrip_abs - abs : abs - io.roundtrip_abs, 1u)
        << "nanoseconds_to_absolutetime undoes absolutetime_to_nanoseconds";

    // Another client (another host thread) reads on from where a stopped.
    const cc_clock_io later = b->get(CC_OPT_CLOCK, cc_clock_io{});
    EXPECT_EQ(later.sleep_err, 0) << "sleep_ms 0: no msleep";
    EXPECT_GE(later.abs_before, io.abs_after);
    EXPECT_GE(later.uptime_before, io.uptime_after);
}

// ---- thread calls (osfmk/kern/thread_call.c) ----

int tcall(ContractClient& c, std::uint32_t op, std::uint32_t arg = 0, std::uint32_t arg2 = 0)
{
    const cc_tcall_req req{op, arg, arg2, 0};
    return c.command(CC_OPT_TCALL, &req, sizeof req);
}

cc_tcall_state tstate(ContractClient& c)
{
    return c.get<cc_tcall_state>(CC_OPT_TCALL_STATE);
}

// Waits (bounded) until the call has begun `runs` runs.
bool wait_runs(ContractClient& c, std::uint32_t runs, Millis timeout = 2000ms)
{
    return kctest::wait_until([&] { return tstate(c).runs >= runs; }, timeout, 5ms);
}

TEST_F(KextsimKpi, ThreadCallRunsAtItsDeadlineWithItsParameter)
{
    auto a = connect();
    ASSERT_TRUE(a);
    ASSERT_EQ(tcall(*a, CC_TC_ALLOC), 1);
    const cc_tcall_state before = tstate(*a);
    EXPECT_EQ(tcall(*a, CC_TC_ENTER_DELAYED, 150, 42), 0) << "FALSE: it was not pending";
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(tstate(*a).runs, 0u) << "not before its deadline";
    ASSERT_TRUE(wait_runs(*a, 1));
    const cc_tcall_state st = tstate(*a);
    EXPECT_EQ(st.runs, 1u);
    EXPECT_EQ(st.last_param1, 42u);
    EXPECT_GE(st.last_run_ns - before.now_ns, 150'000'000u) << "ran at the deadline, not before";
    EXPECT_LT(st.last_run_ns - before.now_ns, 1'000'000'000u);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(tstate(*a).runs, 1u) << "one enter, one run";
    EXPECT_EQ(tcall(*a, CC_TC_FREE), 1);
}

TEST_F(KextsimKpi, ThreadCallEnterReplacesThePendingInvocation)
{
    auto a = connect();
    ASSERT_TRUE(a);
    ASSERT_EQ(tcall(*a, CC_TC_ALLOC), 1);
    EXPECT_EQ(tcall(*a, CC_TC_ENTER_DELAYED, 5000, 1), 0);
    EXPECT_EQ(tcall(*a, CC_TC_ENTER_DELAYED, 50, 2), 1) << "TRUE: it was pending, now at the new deadline";
    ASSERT_TRUE(wait_runs(*a, 1));
    EXPECT_EQ(tstate(*a).last_param1, 2u) << "the newer param1";
    EXPECT_EQ(tcall(*a, CC_TC_ENTER, 3), 0) << "not pending after it ran";
    ASSERT_TRUE(wait_runs(*a, 2));
    EXPECT_EQ(tstate(*a).last_param1, 3u);
    EXPECT_EQ(tcall(*a, CC_TC_FREE), 1);
}

TEST_F(KextsimKpi, ThreadCallCancelAndFreeFollowXnu)
{
    auto a = connect();
    ASSERT_TRUE(a);
    ASSERT_EQ(tcall(*a, CC_TC_ALLOC), 1);
    EXPECT_EQ(tcall(*a, CC_TC_CANCEL), 0) << "nothing pending";
    EXPECT_EQ(tcall(*a, CC_TC_ENTER_DELAYED, 200), 0);
    EXPECT_EQ(tcall(*a, CC_TC_FREE), 0) << "thread_call_free is FALSE, and does nothing, while pending";
    EXPECT_EQ(tcall(*a, CC_TC_CANCEL), 1) << "TRUE: a pending invocation was removed";
    EXPECT_EQ(tcall(*a, CC_TC_CANCEL), 0);
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(tstate(*a).runs, 0u) << "a cancelled call never runs";

    // A running invocation is not pending: cancel is FALSE, free is TRUE
    // and releases the call when the run returns.
    ASSERT_EQ(tcall(*a, CC_TC_RUN_MS, 300), 0);
    EXPECT_EQ(tcall(*a, CC_TC_ENTER), 0);
    ASSERT_TRUE(wait_runs(*a, 1));
    EXPECT_EQ(tcall(*a, CC_TC_CANCEL), 0) << "already running";
    EXPECT_EQ(tcall(*a, CC_TC_FREE), 1);
    EXPECT_TRUE(kctest::wait_until([&] { return tstate(*a).running == 0; }, 2000ms));
    EXPECT_EQ(tstate(*a).runs, 1u);
}

TEST_F(KextsimKpi, OnceThreadCallNeverRunsTwiceAtOnce)
{
    auto a = connect();
    ASSERT_TRUE(a);
    ASSERT_EQ(tcall(*a, CC_TC_ALLOC, THREAD_CALL_OPTIONS_ONCE_VALUE), 1);
    ASSERT_EQ(tcall(*a, CC_TC_RUN_MS, 200), 0);
    EXPECT_EQ(tcall(*a, CC_TC_ENTER, 1), 0);
    ASSERT_TRUE(wait_runs(*a, 1));
    // Entered while it runs: deferred until the run returns (XNU's
    // THREAD_CALL_RESCHEDULE), reported as not yet pending, then pending.
    EXPECT_EQ(tcall(*a, CC_TC_ENTER, 2), 0);
    EXPECT_EQ(tcall(*a, CC_TC_ENTER, 3), 1);
    ASSERT_TRUE(wait_runs(*a, 2, 3000ms));
    EXPECT_TRUE(kctest::wait_until([&] { return tstate(*a).running == 0; }, 2000ms));
    const cc_tcall_state st = tstate(*a);
    EXPECT_EQ(st.runs, 2u) << "the two deferred enters are one invocation";
    EXPECT_EQ(st.max_running, 1u);
    EXPECT_EQ(st.last_param1, 3u);
    EXPECT_EQ(tcall(*a, CC_TC_FREE), 1);
}

TEST_F(KextsimKpi, ThreadCallNotFreedIsReportedAtUnload)
{
    {
        auto a = connect();
        ASSERT_TRUE(a);
        ASSERT_EQ(tcall(*a, CC_TC_ALLOC), 1);
        ASSERT_EQ(tcall(*a, CC_TC_FORGET), 0);
    }
    ASSERT_TRUE(host_.wait_no_clients());
    const Result r = host_.kextsim({"unload", CC_BUNDLE_ID});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("leak: thread call of "), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("not freed"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find(kContractImage), std::string::npos) << "names the function's image: " << r.out;
}

} // namespace
