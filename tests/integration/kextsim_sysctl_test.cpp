// kextsim's sysctl KPI, end to end: the test kext (tests/kexts/sysctl)
// registers debug.kxstest.* in a real `kextsim boot`, and `kextsim sysctl`
// and the client library read and write it as sysctl(8) and sysctl(3) would.
// Each test is named after the XNU rule it checks.
#include "sysctl_kext.hpp"

#include <kextsim/client.hpp>

#include <csignal>
#include <cstring>
#include <thread>
#include <unistd.h>

namespace {

using namespace kctest;

constexpr int kCtlDebug = 5; // CTL_DEBUG
const std::string kNode = KXSTEST_NODE;

class KextsimSysctl : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }

    Result sysctl(const std::vector<std::string>& args, bool as_nobody = false)
    {
        std::vector<std::string> argv{"sysctl"};
        argv.insert(argv.end(), args.begin(), args.end());
        return host_.kextsim(argv, as_nobody);
    }
    std::unique_ptr<kextsim::SysctlClient> client() { return kextsim::SysctlClient::open(host_.root()); }

    SysctlKextHost host_;
};

TEST_F(KextsimSysctl, UnknownNameExitsOneAndSaysUnknownOid)
{
    const Result r = sysctl({"kern.foo"});
    EXPECT_TRUE(exited_saying(r, 1, {"unknown oid 'kern.foo'"}));
}

TEST_F(KextsimSysctl, OidsAreNotRegisteredAutomatically)
{
    // Declared with SYSCTL_INT in the kext, never passed to sysctl_register_oid.
    const Result r = sysctl({kNode + ".never"});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find("unknown oid '" + kNode + ".never'"), std::string::npos) << r.describe();
    const Result all = sysctl({"-a"});
    ASSERT_EQ(all.exit_code, 0) << all.describe();
    for (const char* name : {".never", ".clash", ".leaky", "kxsorphanage"})
        EXPECT_EQ(all.out.find(name), std::string::npos) << name << " is listed:\n" << all.out;
}

TEST_F(KextsimSysctl, ListAllShowsEveryRegisteredOidExceptMaskedOnes)
{
    const Result r = sysctl({"-a"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    for (const std::string& line :
         {kNode + ".value: 7\n", kNode + ".label: hello\n", kNode + ".doubled: 14\n", kNode + ".readonly: 42\n",
          kNode + ".anybody: 0\n", kNode + ".slow: 1\n", kNode + ".action: 0\n"})
        EXPECT_NE(r.out.find(line), std::string::npos) << "missing " << line << "in:\n" << r.out;
    EXPECT_EQ(r.out.find(".hidden"), std::string::npos) << "CTLFLAG_MASKED is not listed:\n" << r.out;
    const Result hidden = sysctl({kNode + ".hidden"});
    EXPECT_EQ(hidden.exit_code, 0) << hidden.describe();
    EXPECT_EQ(hidden.out, kNode + ".hidden: 3\n") << "but reads by name";
}

TEST_F(KextsimSysctl, ANodeListsWhatIsUnderIt)
{
    const Result r = sysctl({kNode});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out.rfind(kNode + ".value: 7\n", 0), 0u) << "value is the first child:\n" << r.out;
    EXPECT_NE(r.out.find(kNode + ".label: hello\n"), std::string::npos) << r.out;
    std::size_t lines = 0;
    for (char c : r.out)
        lines += c == '\n';
    EXPECT_EQ(lines, 7u) << "the 8 children but the masked one:\n" << r.out;
}

TEST_F(KextsimSysctl, OidAutoNumbersAreAssignedFrom100Up)
{
    auto c = client();
    ASSERT_TRUE(c) << std::strerror(errno);
    const kextsim::SysctlOid node = c->read(kNode);
    ASSERT_EQ(node.error, 0) << std::strerror(node.error);
    EXPECT_EQ(node.kind & kextsim::kCtlTypeMask, kextsim::kCtlTypeNode);
    EXPECT_EQ(node.path, (std::vector<int>{kCtlDebug, 100})) << "first OID_AUTO under debug";
    // Children in registration order: value, label, doubled, readonly,
    // anybody, hidden, slow, action.
    EXPECT_EQ(c->read(kNode + ".value").path, (std::vector<int>{kCtlDebug, 100, 100}));
    EXPECT_EQ(c->read(kNode + ".label").path, (std::vector<int>{kCtlDebug, 100, 101}));
    EXPECT_EQ(c->read(kNode + ".action").path, (std::vector<int>{kCtlDebug, 100, 107}));
}

TEST_F(KextsimSysctl, StockHandlersAndSysctlProcReadAndWrite)
{
    Result r = sysctl({kNode + ".value=12"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, kNode + ".value: 7 -> 12\n");
    r = sysctl({kNode + ".doubled"});
    EXPECT_EQ(r.out, kNode + ".doubled: 24\n") << r.describe();
    r = sysctl({kNode + ".doubled=10"});
    EXPECT_EQ(r.out, kNode + ".doubled: 24 -> 10\n") << r.describe();
    r = sysctl({kNode + ".value"});
    EXPECT_EQ(r.out, kNode + ".value: 5\n") << "the handler wrote value: " << r.describe();
    r = sysctl({kNode + ".label=world"});
    EXPECT_EQ(r.out, kNode + ".label: hello -> world\n") << r.describe();
    r = sysctl({kNode + ".value=abc"});
    EXPECT_TRUE(exited_saying(r, 1, {"invalid"}));
}

TEST_F(KextsimSysctl, StringAtLeastItsBufferSizeIsEinval)
{
    const Result r = sysctl({kNode + ".label=" + std::string(32, 'x')});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find(std::strerror(EINVAL)), std::string::npos) << r.describe();
    EXPECT_EQ(sysctl({kNode + ".label"}).out, kNode + ".label: hello\n") << "unchanged";
}

TEST_F(KextsimSysctl, WritesNeedCtlflagWr)
{
    const Result r = sysctl({kNode + ".readonly=1"});
    EXPECT_TRUE(exited_saying(r, 1, {"read only"}));
    auto c = client();
    ASSERT_TRUE(c);
    const int one = 1;
    EXPECT_EQ(c->write(kNode + ".readonly", &one, sizeof one), EPERM) << "the host refuses it too";
    EXPECT_EQ(sysctl({kNode + ".readonly"}).out, kNode + ".readonly: 42\n");
}

TEST_F(KextsimSysctl, WritesNeedRootUnlessCtlflagAnybody)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root (to become nobody)";
    Result r = sysctl({kNode + ".value=1"}, true);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_NE(r.err.find(std::strerror(EPERM)), std::string::npos) << r.describe();
    r = sysctl({kNode + ".value"}, true);
    EXPECT_EQ(r.out, kNode + ".value: 7\n") << "reads are open to all: " << r.describe();
    r = sysctl({kNode + ".anybody=5"}, true);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, kNode + ".anybody: 0 -> 5\n");
}

TEST_F(KextsimSysctl, UnregisterWaitsForHandlerCallsInFlight)
{
    // debug.kxstest.slow sleeps in its handler; stop unregisters it meanwhile.
    Process reader({bin_path("kextsim"), "sysctl", kNode + ".slow"}, SpawnOptions{host_.host().env(), false});
    ASSERT_TRUE(host_.host().process().wait_for_err("slow handler: entered", 5000ms)) << host_.err();
    const Result unload = host_.kextsim({"unload", KXSTEST_BUNDLE_ID});
    EXPECT_EQ(unload.exit_code, 0) << unload.describe();
    ASSERT_TRUE(reader.wait(5000ms));
    EXPECT_EQ(reader.exit_code(), 0) << reader.describe();
    EXPECT_EQ(reader.out(), kNode + ".slow: 1\n") << "the call in flight completed";
    const std::string err = host_.err();
    const auto leaving = err.rfind("slow handler: leaving");
    const auto unregistered = err.find("stop: OIDs unregistered");
    ASSERT_NE(leaving, std::string::npos) << err;
    ASSERT_NE(unregistered, std::string::npos) << err;
    EXPECT_LT(leaving, unregistered) << "sysctl_unregister_oid returned before the handler did:\n" << err;
}

TEST_F(KextsimSysctl, OidsLeftRegisteredAtStopAreReportedAsKextBugs)
{
    const Result action = kxstest_action(host_.root(), KXSTEST_ACTION_LEAK);
    ASSERT_EQ(action.exit_code, 0) << action.describe();
    EXPECT_EQ(sysctl({kNode + ".leaky"}).exit_code, 0);
    const Result r = host_.kextsim({"unload", KXSTEST_BUNDLE_ID});
    EXPECT_NE((r.out + r.err).find("kext bug: sysctl \"" + kNode + ".leaky\" still registered after stop"),
              std::string::npos)
        << r.describe();
    EXPECT_EQ(host_.host().is_loaded(KXSTEST_BUNDLE_ID), false);
}

// ---- rules whose breach XNU answers with a panic ----

// A host whose sysctl test kext did `action`: it must have panicked
// (SIGABRT). Its result and panic line.
std::pair<Result, std::string> panic_after(int action)
{
    DyingHost host(sysctl_kext_bundle(), KXSTEST_BUNDLE_ID);
    EXPECT_TRUE(host.ready());
    kxstest_action(host.root(), action);
    Result r = host.end();
    EXPECT_EQ(r.term_signal, SIGABRT) << r.describe();
    std::string panic = panic_line(r);
    return {std::move(r), std::move(panic)};
}

TEST(KextsimSysctlPanics, ExplicitNumberAlreadyTakenPanics)
{
    const auto [r, panic] = panic_after(KXSTEST_ACTION_CLASH);
    EXPECT_NE(panic.find("\"" + kNode + ".clash\""), std::string::npos) << "names the OID: " << r.describe();
    EXPECT_NE(panic.find("already taken by \"" + kNode + ".value\""), std::string::npos) << r.describe();
}

TEST(KextsimSysctlPanics, ParentNodeNotRegisteredAborts)
{
    const auto [r, panic] = panic_after(KXSTEST_ACTION_ORPHAN);
    EXPECT_NE(panic.find("\"orphan\""), std::string::npos) << "names the OID: " << r.describe();
    EXPECT_NE(panic.find("not registered"), std::string::npos) << r.describe();
    EXPECT_NE(r.err.find("kext[" KXSTEST_BUNDLE_ID "] fault: sysctl_register_oid"), std::string::npos)
        << "logged loudly first: " << r.describe();
}

TEST(KextsimSysctlPanics, OidWithoutCtlflagOid2Aborts)
{
    const auto [r, panic] = panic_after(KXSTEST_ACTION_OLD_STYLE);
    EXPECT_NE(panic.find("\"oldstyle\""), std::string::npos) << "names the OID: " << r.describe();
    EXPECT_NE(panic.find("CTLFLAG_OID2"), std::string::npos) << r.describe();
}

} // namespace
