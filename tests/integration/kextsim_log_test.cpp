// kextsim's kernel log, end to end: what the test kext (tests/kexts/sysctl)
// writes with printf, IOLog and os_log reaches the host's stderr and
// `kextsim log`, tagged with the kext's bundle id, whichever thread runs it.
// Each test is named after the rule it checks.
#include "sysctl_kext.hpp"

#include <kextsim/client.hpp>

#include <cstring>
#include <sstream>
#include <unistd.h>

namespace {

using namespace kctest;

const std::string kTag = "kext[" KXSTEST_BUNDLE_ID "] ";

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

class KextsimLog : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }
    SysctlKextHost host_;
};

TEST_F(KextsimLog, PrintfIologAndOsLogReachTheHostLogTaggedWithTheBundleId)
{
    const std::vector<std::string> expected = {
        kTag + "default: printf from start: value=7",
        kTag + "default: IOLog from start: label=hello",
        kTag + "default: os_log from start",
        kTag + "error: os_log_error from start",
    };
    const std::string err = host_.err();
    for (const auto& line : expected)
        EXPECT_NE(err.find(line + "\n"), std::string::npos) << "host stderr lacks " << line << ":\n" << err;
    EXPECT_EQ(host_.host().process().out().find("printf from start"), std::string::npos)
        << "a kext's printf must not reach the host's stdout";
    const Result log = host_.kextsim({"log"});
    ASSERT_EQ(log.exit_code, 0) << log.describe();
    for (const auto& line : expected)
        EXPECT_NE(log.out.find(line + "\n"), std::string::npos) << "`kextsim log` lacks " << line << ":\n" << log.out;
}

TEST_F(KextsimLog, ControlCallbacksAreAttributedToTheKextThatRegisteredTheControl)
{
    {
        auto s = kextsim::SystemSocket::open(kextsim::kSockDgram, kextsim::kSysprotoControl, host_.root());
        ASSERT_TRUE(s) << std::strerror(errno);
        kextsim::ctl_info info{};
        std::strncpy(info.ctl_name, KXSTEST_CONTROL_NAME, sizeof info.ctl_name - 1);
        ASSERT_EQ(s->ioctl(kextsim::kCtlIocGInfo, &info), 0) << std::strerror(errno);
        kextsim::sockaddr_ctl addr{};
        addr.sc_len = sizeof addr;
        addr.sc_family = kextsim::kPfSystem;
        addr.ss_sysaddr = kextsim::kAfSysControl;
        addr.sc_id = info.ctl_id;
        ASSERT_EQ(s->connect(&addr, sizeof addr), 0) << std::strerror(errno);
        EXPECT_TRUE(host_.host().process().wait_for_err(kTag + "default: ctl_connect unit 1\n", 5000ms)) << host_.err();
    }
    EXPECT_TRUE(host_.host().process().wait_for_err(kTag + "default: ctl_disconnect unit 1\n", 5000ms)) << host_.err();
}

TEST_F(KextsimLog, SysctlHandlersAreAttributedToTheirKext)
{
    const Result r = kxstest_action(host_.root(), KXSTEST_ACTION_MARK);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(host_.host().process().wait_for_err(kTag + "default: mark 1\n", 5000ms)) << host_.err();
}

TEST_F(KextsimLog, TheHostKeepsTheLast1000Lines)
{
    const Result burst = kxstest_action(host_.root(), KXSTEST_ACTION_BURST);
    ASSERT_EQ(burst.exit_code, 0) << burst.describe();
    const Result log = host_.kextsim({"log"});
    ASSERT_EQ(log.exit_code, 0) << log.describe();
    const auto lines = lines_of(log.out);
    ASSERT_EQ(lines.size(), 1000u);
    EXPECT_EQ(lines.front(), kTag + "default: burst line " + std::to_string(KXSTEST_BURST_LINES - 1000));
    EXPECT_EQ(lines.back(), kTag + "default: burst line " + std::to_string(KXSTEST_BURST_LINES - 1));
}

TEST_F(KextsimLog, FollowStreamsNewLinesWithoutBlockingOtherClients)
{
    Process follower({bin_path("kextsim"), "log", "--follow"}, SpawnOptions{host_.host().env(), false});
    ASSERT_TRUE(wait_until([&] { return follower.out().find("os_log from start") != std::string::npos; }, 5000ms))
        << "the backlog comes first: " << follower.describe();
    // While it follows, other clients are served.
    const Result mark = kxstest_action(host_.root(), KXSTEST_ACTION_MARK);
    ASSERT_EQ(mark.exit_code, 0) << mark.describe();
    const Result other = host_.kextsim({"log"});
    EXPECT_EQ(other.exit_code, 0) << other.describe();
    EXPECT_TRUE(
        wait_until([&] { return follower.out().find(kTag + "default: mark 1\n") != std::string::npos; }, 5000ms))
        << follower.describe();
    EXPECT_EQ(follower.out().find("burst"), std::string::npos);
    // The stream ends when the host does.
    host_.host().stop();
    ASSERT_TRUE(follower.wait(5000ms)) << follower.describe();
    EXPECT_EQ(follower.exit_code(), 0) << follower.describe();
    const auto lines = lines_of(follower.out());
    EXPECT_EQ(std::count(lines.begin(), lines.end(), kTag + "default: os_log from start"), 1) << "no line twice:\n"
                                                                                              << follower.out();
}

TEST_F(KextsimLog, ReadingTheLogNeedsRootOrTheHostUser)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root (to become nobody)";
    const Result r = host_.kextsim({"log"}, true);
    EXPECT_TRUE(exited_saying(r, 1, {"needs root"}));
}

} // namespace
