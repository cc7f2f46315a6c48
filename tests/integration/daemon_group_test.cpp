// kextconfd --admin-group (docs/operations.md, "Who may change what"), with
// real users and a real group made for the test: root and members may ask
// for status and changes, others are refused and told why, and a member
// removed from the group loses access at once, even over a connection made
// while still a member. Needs root (it runs useradd/groupadd).
#include "daemon_helpers.hpp"
#include <kextconf/admin_protocol.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

using namespace kctest;
using nlohmann::json;
namespace admin = kextconf::admin;

namespace {

// Named after the test process, so that tests running at once (ctest -j)
// never share accounts.
const std::string kSuffix = std::to_string(::getpid());
const std::string kGroupName = "kct_adm" + kSuffix;
const std::string kMemberName = "kct_mem" + kSuffix;
const std::string kOtherName = "kct_oth" + kSuffix;
const char* const kGroup = kGroupName.c_str();
const char* const kMember = kMemberName.c_str();
const char* const kOther = kOtherName.c_str();

void remove_accounts()
{
    run({"/usr/sbin/userdel", kMember});
    run({"/usr/sbin/userdel", kOther});
    run({"/usr/sbin/groupdel", kGroup});
}

// Becomes `user` with the supplementary groups the database gives it now.
bool become(const char* user)
{
    const passwd* pw = ::getpwnam(user);
    return pw != nullptr && ::initgroups(user, pw->pw_gid) == 0 && ::setgid(pw->pw_gid) == 0 &&
           ::setuid(pw->pw_uid) == 0;
}

// One admin request as `user` in a forked child: "errno|reply".
std::string request_as(const char* user, const std::string& socket, const json& req)
{
    const Result r = run_in_child(
        [&] {
            if (!become(user))
                return 99;
            std::error_code ec;
            const json reply = admin::request(socket, req, 5s, ec);
            std::printf("%d|%s", ec.value(), reply.dump().c_str());
            return 0;
        },
        /*as_nobody=*/false);
    return r.exit_code == 0 ? r.out : "child failed: " + r.describe();
}

class DaemonGroup : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root to create users and groups";
        remove_accounts();
        ASSERT_EQ(run({"/usr/sbin/groupadd", kGroup}).exit_code, 0);
        ASSERT_EQ(run({"/usr/sbin/useradd", "-M", "-N", "-s", "/usr/sbin/nologin", "-G", kGroup, kMember}).exit_code,
                  0);
        ASSERT_EQ(run({"/usr/sbin/useradd", "-M", "-N", "-s", "/usr/sbin/nologin", kOther}).exit_code, 0);
        ASSERT_TRUE(host_.ready());
        ASSERT_EQ(::mkdir(config_dir_.c_str(), 0755), 0);
        write_file(config_, config_text({{"max_clients", 100}}));
        daemon_ = std::make_unique<Process>(std::vector<std::string>{bin_path("kextconfd"), "--config", config_,
                                                                     "--state-dir", host_.dir().file("state"),
                                                                     "--admin-group", kGroup, "--foreground-log"},
                                            SpawnOptions{host_.env(), false});
        ASSERT_TRUE(wait_for_state(host_, 2, {{"max_clients", 100}})) << daemon_->describe();
        ASSERT_TRUE(wait_until([&] { return ::access(socket_.c_str(), F_OK) == 0; }, 2s)) << daemon_->describe();
    }
    void TearDown() override
    {
        if (daemon_)
            stop_daemon(*daemon_);
        remove_accounts();
    }

    KextsimHost host_;
    const std::string config_dir_ = host_.dir().file("etc");
    const std::string config_ = config_dir_ + "/config.json";
    const std::string socket_ = host_.admin_socket();
    std::unique_ptr<Process> daemon_;
};

json status_req()
{
    return {{"v", admin::kVersion}, {"cmd", "status"}};
}

} // namespace

TEST_F(DaemonGroup, SocketIsOpenToTheGroupOnly)
{
    struct stat st {};
    ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, ::getgrnam(kGroup)->gr_gid);
}

TEST_F(DaemonGroup, MemberMaySetPersistAndReload)
{
    const std::string st = request_as(kMember, socket_, status_req());
    EXPECT_EQ(st.rfind("0|", 0), 0u) << st;
    EXPECT_NE(st.find("\"ok\":true"), std::string::npos) << st;

    const std::string set =
        request_as(kMember, socket_, {{"v", admin::kVersion}, {"cmd", "set"}, {"values", {{"log_level", "debug"}}}});
    EXPECT_NE(set.find("\"ok\":true"), std::string::npos) << set;
    EXPECT_TRUE(wait_for_state(host_, 3, {{"max_clients", 100}, {"log_level", "debug"}}));

    // Out of the kext's bounds: refused, nothing changed, the bound named.
    const std::string bad = request_as(
        kMember, socket_, {{"v", admin::kVersion}, {"cmd", "persist"}, {"values", {{"max_clients", 100000}}}});
    EXPECT_NE(bad.find("\"ok\":false"), std::string::npos) << bad;
    EXPECT_NE(bad.find("1024"), std::string::npos) << bad;
    EXPECT_EQ(read_file(config_).find("100000"), std::string::npos);

    const std::string persist = request_as(
        kMember, socket_, {{"v", admin::kVersion}, {"cmd", "persist"}, {"values", {{"label", "by-member"}}}});
    EXPECT_NE(persist.find("\"ok\":true"), std::string::npos) << persist;
    const std::string text = read_file(config_);
    EXPECT_NE(text.find("\"by-member\""), std::string::npos) << text;
    EXPECT_NE(text.find("// written by daemon_group_test"), std::string::npos) << "comment lost: " << text;
    // The reload put the file back over the transient log_level.
    EXPECT_TRUE(wait_for_state(host_, 4, {{"max_clients", 100}, {"label", "by-member"}}));

    const std::string reload = request_as(kMember, socket_, {{"v", admin::kVersion}, {"cmd", "reload"}});
    EXPECT_NE(reload.find("\"ok\":true"), std::string::npos) << reload;
}

TEST_F(DaemonGroup, OthersAreRefusedAndToldWhy)
{
    // The socket's mode keeps them out...
    const std::string denied = request_as(kOther, socket_, status_req());
    EXPECT_EQ(denied.rfind(std::to_string(EACCES) + "|", 0), 0u) << denied;
    // ...and with the mode opened up, the daemon's own check says why.
    ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
    const std::string refused =
        request_as(kOther, socket_, {{"v", admin::kVersion}, {"cmd", "set"}, {"values", {{"max_clients", 5}}}});
    EXPECT_NE(refused.find("\"denied\":true"), std::string::npos) << refused;
    EXPECT_NE(refused.find(std::string("is not a member of kextconfd's admin group \\\"") + kGroup), std::string::npos)
        << refused;
    EXPECT_TRUE(daemon_->wait_for_err("is not a member", 2s)) << daemon_->describe();
    // Root always may, and nothing changed.
    std::error_code ec;
    const json root = admin::request(socket_, status_req(), 5s, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(root.value("ok", false), true);
    EXPECT_EQ(root.at("kext").value("generation", 0), 2);
}

// The member connects (still in the group, so the socket's mode lets it in),
// is then removed from the group, and only then sends its request: the
// daemon reads the group database per request and refuses it.
TEST_F(DaemonGroup, MemberRemovedWhileConnectedLosesAccess)
{
    int connected[2];
    int go[2];
    ASSERT_EQ(::pipe(connected), 0);
    ASSERT_EQ(::pipe(go), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (!become(kMember))
            ::_exit(99);
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
            ::_exit(98);
        char c = 'c';
        if (::write(connected[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 1)
            ::_exit(97);
        const std::string req =
            json{{"v", admin::kVersion}, {"cmd", "set"}, {"values", {{"max_clients", 5}}}}.dump() + "\n";
        if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
            ::_exit(96);
        std::string reply;
        char buf[4096];
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
            reply.append(buf, static_cast<std::size_t>(n));
        // The verdict goes back to the parent through the same pipe.
        const bool refused =
            reply.find("\"denied\":true") != std::string::npos && reply.find("is not a member") != std::string::npos;
        ::_exit(refused ? 0 : 1);
    }
    char c = 0;
    ASSERT_EQ(::read(connected[0], &c, 1), 1) << "the member could not connect";
    const Result removed = run({"/usr/bin/gpasswd", "-d", kMember, kGroup});
    ASSERT_EQ(removed.exit_code, 0) << removed.describe();
    ASSERT_EQ(::write(go[1], &c, 1), 1);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    for (int fd : {connected[0], connected[1], go[0], go[1]})
        ::close(fd);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    EXPECT_TRUE(daemon_->wait_for_err(kMemberName + ") is not a member", 2s)) << daemon_->describe();
    // Nothing changed.
    EXPECT_TRUE(wait_for_state(host_, 2, {{"max_clients", 100}}));
}
