// kextconfd's admin socket (daemon/lib/include/kextconf/admin_protocol.hpp), driven with the
// shared client against the real daemon and a `kextsim boot` host: status,
// reload, who may connect, bounded requests, the socket file's life cycle,
// and stopping on SIGTERM.
#include "daemon_helpers.hpp"
#include "process.hpp"
#include <kextconf/admin_protocol.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace kctest;
using nlohmann::json;
namespace admin = kextconf::admin;

// A connected AF_UNIX stream socket to `path`, or -1.
int connect_unix(const std::string& path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
        return fd;
    if (fd >= 0)
        ::close(fd);
    return -1;
}

class DaemonAdmin : public DaemonTest {
protected:
    // The file watcher is slowed right down so that only the admin reload
    // under test applies an edit. --foreground-log: stderr is the log here
    // already, and lines must not come out twice (counted below).
    std::unique_ptr<Process> start(const std::vector<std::string>& extra = {})
    {
        std::vector<std::string> flags{"--foreground-log"};
        flags.insert(flags.end(), extra.begin(), extra.end());
        return start_daemon("60000", flags);
    }

    std::unique_ptr<Process> start_applied(const json& tunables)
    {
        write_file(config_, config_text(tunables));
        auto d = start();
        EXPECT_TRUE(wait_for_state(host_, 2, tunables)) << d->describe();
        EXPECT_TRUE(wait_until([&] { return ::access(socket_.c_str(), F_OK) == 0; }, 2s)) << d->describe();
        return d;
    }
};

TEST_F(DaemonAdmin, StatusDescribesFileKextAndApply)
{
    const json tunables = {{"max_clients", 100}, {"label", "status"}};
    auto d = start_applied(tunables);

    struct stat st {};
    ASSERT_EQ(::lstat(socket_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u) << "only root may connect";

    const json s = request("status");
    ASSERT_TRUE(s.is_object()) << d->describe();
    EXPECT_EQ(s.at("v"), admin::kVersion);
    EXPECT_EQ(s.at("ok"), true);
    EXPECT_EQ(s.at("daemon").at("pid"), d->pid());
    EXPECT_EQ(s.at("daemon").at("version"), "0.1.0");
    EXPECT_GE(s.at("daemon").at("uptime_s").get<int>(), 0);
    EXPECT_EQ(s.at("config").at("path"), config_);
    EXPECT_EQ(s.at("config").at("state"), "good");
    EXPECT_EQ(s.at("config").at("source"), "file");
    EXPECT_EQ(s.at("config").at("errors"), json::array());
    EXPECT_TRUE(s.at("config").at("loaded_at").is_string());
    const json& k = s.at("kext");
    EXPECT_EQ(k.at("bundle_id"), kReferenceBundleId);
    EXPECT_EQ(k.at("loaded"), true);
    EXPECT_EQ(k.at("generation"), 2);
    const auto ctl = status_json(host_);
    ASSERT_TRUE(ctl);
    EXPECT_EQ(k.at("load_id"), ctl->at("load_id"));
    EXPECT_EQ(k.at("config_hash"), ctl->at("config_hash")); // one format everywhere
    EXPECT_TRUE(k.at("event_seq").is_number_unsigned());
    EXPECT_EQ(s.at("applied").at("generation"), 2);
    EXPECT_EQ(s.at("applied").at("config_hash"), k.at("config_hash"));
    EXPECT_EQ(s.at("applied").at("changed"), 2);
    EXPECT_TRUE(s.at("applied").at("at").is_string());
    EXPECT_EQ(s.at("drift"), json::array());
    EXPECT_EQ(s.at("drift_state"), "in-sync");
    const json& c = s.at("counters");
    EXPECT_EQ(c.at("applies"), 1);
    EXPECT_EQ(c.at("apply_failures"), 0);
    EXPECT_EQ(c.at("seq_gaps"), 0);
    stop_daemon(*d);
}

TEST_F(DaemonAdmin, ReloadAppliesAndAnswersWithTheResult)
{
    auto d = start_applied({{"max_clients", 100}});

    const json edited = {{"max_clients", 200}, {"label", "admin reload"}};
    replace_file(config_, config_text(edited));
    const json r = request("reload");
    EXPECT_EQ(r.at("ok"), true) << r.dump();
    EXPECT_EQ(r.at("applied"), true);
    EXPECT_EQ(r.at("changed"), json({"max_clients", "label"}));
    EXPECT_EQ(r.at("errors"), json::array());
    EXPECT_FALSE(r.contains("error"));
    EXPECT_TRUE(wait_for_state(host_, 3, edited, 0ms)) << "applied before the reply";

    // A syntax error: refused with file:line:col, nothing applied.
    replace_file(config_, "{\n  \"kext\": \"org.kextconf.reference\",\n  \"tunables\": { \"label\": }\n}\n");
    const json bad = request("reload");
    EXPECT_EQ(bad.at("ok"), false);
    EXPECT_EQ(bad.at("applied"), false);
    ASSERT_EQ(bad.at("errors").size(), 1u) << bad.dump();
    EXPECT_EQ(bad.at("errors")[0].get<std::string>().rfind(
                  config_ + ":3:26: error: expected the value of \"label\", found '}'", 0),
              0u)
        << bad.dump();
    EXPECT_NE(bad.at("error").get<std::string>().find("last good configuration stays applied"), std::string::npos);
    const json s = request("status");
    EXPECT_EQ(s.at("config").at("state"), "bad");
    EXPECT_EQ(s.at("config").at("errors"), bad.at("errors"));

    // Out of range for the kext: refused by the schema, nothing applied.
    replace_file(config_, config_text({{"max_clients", 5000}}));
    const json range = request("reload");
    EXPECT_EQ(range.at("ok"), false);
    ASSERT_EQ(range.at("errors").size(), 1u) << range.dump();
    EXPECT_EQ(range.at("errors")[0], config_ + ":4:32: error: tunable \"max_clients\": 5000 is out of range [1, 1024]");
    EXPECT_TRUE(wait_for_state(host_, 3, edited, 0ms));

    // The same content again: a forced reload re-asserts, changing nothing.
    replace_file(config_, config_text(edited));
    const json same = request("reload");
    EXPECT_EQ(same.at("ok"), true);
    EXPECT_EQ(same.at("applied"), true);
    EXPECT_EQ(same.at("changed"), json::array());
    EXPECT_TRUE(wait_for_state(host_, 3, edited, 0ms));
    EXPECT_EQ(count_of(d->err(), "saved the configuration in force"), 2u) << "an unchanged copy is not rewritten";
    stop_daemon(*d);
}

// DESIGN rule 6 in the running daemon: an edit that leaves the file unsafe
// is refused naming the path and the fix; the last good configuration stays.
TEST_F(DaemonAdmin, UnsafeFileIsRefusedAtReload)
{
    const json good = {{"max_clients", 100}};
    auto d = start_applied(good);
    replace_file(config_, config_text({{"max_clients", 300}}));
    ASSERT_EQ(::chmod(config_.c_str(), 0666), 0);
    const json r = request("reload");
    EXPECT_EQ(r.at("ok"), false);
    EXPECT_EQ(r.at("errors"), json({config_ +
                                    ": error: is writable by group or others (mode 0666); fix with: chmod "
                                    "go-w " +
                                    config_}))
        << r.dump();
    EXPECT_TRUE(wait_for_state(host_, 2, good, 0ms));
    ASSERT_EQ(::chmod(config_.c_str(), 0644), 0);
    EXPECT_EQ(request("reload").at("applied"), true);
    EXPECT_TRUE(wait_for_state(host_, 3, {{"max_clients", 300}}, 0ms));
    stop_daemon(*d);
}

TEST_F(DaemonAdmin, UnknownCommandAndVersionAreRefused)
{
    auto d = start_applied({{"max_clients", 100}});
    std::error_code ec;
    const json unknown = admin::request(socket_, {{"v", 1}, {"cmd", "frobnicate"}}, 5s, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(unknown.at("ok"), false);
    EXPECT_EQ(unknown.at("error"), "unknown command \"frobnicate\" (known: persist, reload, set, status)");
    const json future = admin::request(socket_, {{"v", 99}, {"cmd", "status"}}, 5s, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(future.at("ok"), false);
    EXPECT_NE(future.at("error").get<std::string>().find("unsupported admin protocol version 99"), std::string::npos);
    stop_daemon(*d);
}

// A client that connects and says nothing holds only its own connection:
// others are answered at once, and the daemon closes it after the timeout.
TEST_F(DaemonAdmin, SilentClientDoesNotBlockOthers)
{
    auto d = start_applied({{"max_clients", 100}});
    const int silent = connect_unix(socket_);
    ASSERT_GE(silent, 0) << std::strerror(errno);
    const auto t0 = std::chrono::steady_clock::now();
    const json s = request("status");
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(s.value("ok", false), true);
    // Answered while the silent client still holds its connection (the
    // daemon closes it only after its request timeout): status did not wait
    // behind it, whatever the speed of this machine.
    pollfd still{silent, POLLIN, 0};
    EXPECT_EQ(::poll(&still, 1, 0), 0) << "status was answered only after the silent client was cut off";
    std::printf("[ figures ] admin status beside a silent client: %.1f ms\n",
                std::chrono::duration<double, std::milli>(took).count());

    // Figures: status round trips (connect, request, reply with a live read
    // of the kext and its drift, close) while the silent client holds on.
    std::vector<double> us;
    for (int i = 0; i < 50; ++i) {
        const auto t = std::chrono::steady_clock::now();
        EXPECT_EQ(request("status").value("ok", false), true);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
    }
    std::sort(us.begin(), us.end());
    std::printf("[ figures ] admin status round trip, silent client connected: n=50 p50=%.0fus max=%.0fus\n",
                us[us.size() / 2], us.back());

    // The silent one is cut off after the request timeout (2 s).
    pollfd p{silent, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 30000), 1) << "the daemon never closed the silent connection";
    char c = 0;
    EXPECT_EQ(::recv(silent, &c, 1, 0), 0) << "closed without a reply";
    const auto closed_after = std::chrono::steady_clock::now() - t0;
    EXPECT_GT(closed_after, 1500ms);
    ::close(silent);
    stop_daemon(*d);
}

TEST_F(DaemonAdmin, OversizedRequestIsRefused)
{
    auto d = start_applied({{"max_clients", 100}});
    const int fd = connect_unix(socket_);
    ASSERT_GE(fd, 0);
    // More than admin::kMaxMessage bytes with no newline; the daemon stops
    // reading at the cap and answers.
    const std::string blob(admin::kMaxMessage + 4096, 'x');
    std::size_t sent = 0;
    while (sent < blob.size()) {
        const ssize_t n = ::send(fd, blob.data() + sent, blob.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; // the daemon stopped reading at the cap
        sent += static_cast<std::size_t>(n);
    }
    std::string in;
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 3000) == 1) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        in.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const json r = json::parse(in, nullptr, false);
    ASSERT_TRUE(r.is_object()) << "reply: " << in;
    EXPECT_EQ(r.at("ok"), false);
    EXPECT_EQ(r.at("error"), "request longer than 1048576 bytes");
    // And the daemon serves the next client normally.
    EXPECT_EQ(request("status").value("ok", false), true);
    stop_daemon(*d);
}

// The socket file is 0600: nobody cannot even connect. With the file opened
// up, the daemon's own peer check still refuses (without a word, which the
// client reports as EACCES).
TEST_F(DaemonAdmin, NonRootClientIsRefused)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to become nobody";
    auto d = start_applied({{"max_clients", 100}});
    const std::string path = socket_;
    auto as_nobody = [&] {
        std::error_code ec;
        const json r = admin::request(path, {{"v", 1}, {"cmd", "status"}}, 3s, ec);
        std::printf("%s|%s", ec ? std::to_string(ec.value()).c_str() : "0", r.dump().c_str());
        return 0;
    };
    const Result denied = run_in_child(as_nobody, /*as_nobody=*/true);
    EXPECT_EQ(denied.out.rfind(std::to_string(EACCES) + "|", 0), 0u) << denied.describe();

    ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
    const Result refused = run_in_child(as_nobody, /*as_nobody=*/true);
    EXPECT_EQ(refused.out.rfind(std::to_string(EACCES) + "|", 0), 0u) << refused.describe();
    EXPECT_TRUE(d->wait_for_err("admin socket: refused a client with uid 65534", 2s)) << d->describe();
    EXPECT_EQ(request("status").value("ok", false), true) << "root still gets answers";
    stop_daemon(*d);
}

TEST_F(DaemonAdmin, StaleSocketIsReplacedAndRemovedAtExit)
{
    // A socket file nobody listens on, as a crashed daemon leaves it.
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
        ::close(fd);
    }
    auto d = start_applied({{"max_clients", 100}});
    EXPECT_TRUE(d->wait_for_err("removed the stale admin socket " + socket_, 0ms)) << d->describe();
    EXPECT_EQ(request("status").value("ok", false), true);

    // A second daemon on the same socket refuses to start and leaves the first alone.
    Process second({bin_path("kextconfd"), "--config", config_, "--state-dir", host_.dir().file("state2")},
                   SpawnOptions{host_.env(), false});
    ASSERT_TRUE(second.wait(5s)) << second.describe();
    EXPECT_EQ(second.exit_code(), 1) << second.describe();
    EXPECT_NE(second.err().find("another kextconfd is listening on it"), std::string::npos) << second.describe();
    EXPECT_EQ(request("status").value("ok", false), true) << "the first daemon still has its socket";

    // SIGTERM: exit 0, socket file gone (the bound only catches a hang).
    ASSERT_TRUE(d->signal(SIGTERM));
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(d->wait(30s)) << "not stopped 30 s after SIGTERM: " << d->describe();
    std::printf("[ figures ] kextconfd stopped %.1f ms after SIGTERM\n",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    EXPECT_EQ(d->exit_code(), 0) << d->describe();
    EXPECT_NE(::access(socket_.c_str(), F_OK), 0) << "socket file left behind";
}

TEST_F(DaemonAdmin, NonSocketAtThePathIsNeverRemoved)
{
    write_file(socket_, "precious\n");
    write_file(config_, config_text({{"max_clients", 100}}));
    auto d = start();
    ASSERT_TRUE(d->wait(5s)) << d->describe();
    EXPECT_EQ(d->exit_code(), 1) << d->describe();
    EXPECT_NE(
        d->err().find("admin socket " + socket_ + ": the path exists and is not a socket; refusing to replace it"),
        std::string::npos)
        << d->describe();
    EXPECT_EQ(read_file(socket_), "precious\n");
    EXPECT_TRUE(wait_for_state(host_, 1, json::object(), 0ms)) << "nothing applied by a daemon that did not start";
}

TEST_F(DaemonAdmin, SocketInAWorldWritableDirectoryIsRefused)
{
    const std::string dir = host_.dir().file("open");
    ASSERT_EQ(::mkdir(dir.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
    write_file(config_, config_text({{"max_clients", 100}}));
    auto d = start({"--admin-socket", dir + "/k.sock"});
    ASSERT_TRUE(d->wait(5s)) << d->describe();
    EXPECT_EQ(d->exit_code(), 1) << d->describe();
    EXPECT_NE(d->err().find("admin socket " + dir + "/k.sock: its directory " + dir +
                            " is world-writable (mode 0777); anyone could replace the socket"),
              std::string::npos)
        << d->describe();
    EXPECT_NE(::access((dir + "/k.sock").c_str(), F_OK), 0) << "the socket is removed again";
}

} // namespace
