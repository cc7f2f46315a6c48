#include "admin_server.hpp"

#include "admin_policy.hpp"
#include "peer_cred.hpp"
#include "socket_fd.hpp"
#include <kextconf/admin_protocol.hpp>
#include <kextconf/logging.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace asio = boost::asio;
using asio::local::stream_protocol;
using nlohmann::json;

namespace kextconf {

namespace {

std::string errno_text(int err)
{
    return std::generic_category().message(err);
}

json failure(const std::string& error)
{
    return {{"ok", false}, {"error", error}};
}

} // namespace

AdminServer::AdminServer(asio::io_context& io, std::string path, std::string admin_group)
    : io_(io), path_(std::move(path)), admin_group_(std::move(admin_group)), acceptor_(io)
{
}

bool AdminServer::open_to_group()
{
    if (admin_group_.empty())
        return true;
    std::string error;
    const auto gid = find_group(admin_group_, error);
    if (!gid) {
        logcat::daemon().error("admin group {}: {}; create it or choose another with --admin-group (\"\" for root "
                               "only)",
                               admin_group_, error);
        return false;
    }
    // Owner first, then the mode: the file is 0600 until both are done.
    if (::chown(path_.c_str(), ::geteuid(), *gid) != 0 || ::chmod(path_.c_str(), 0660) != 0) {
        logcat::daemon().error("admin socket {}: cannot give it to group {}: {}", path_, admin_group_,
                               errno_text(errno));
        return false;
    }
    return true;
}

AdminServer::~AdminServer()
{
    if (!created_)
        return;
    // Unlink only the socket this server made: a daemon started after us
    // (which replaced it) keeps its own.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && std::pair(st.st_dev, st.st_ino) == *created_)
        ::unlink(path_.c_str());
}

bool AdminServer::remove_stale_socket()
{
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0) {
        if (errno == ENOENT)
            return true;
        logcat::daemon().error("admin socket {}: {}", path_, errno_text(errno));
        return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        logcat::daemon().error("admin socket {}: the path exists and is not a socket; refusing to replace it (move it "
                               "away, or choose another path with --admin-socket)",
                               path_);
        return false;
    }
    // A socket someone still listens on belongs to a running daemon.
    const int probe = open_socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    const int rc = probe < 0 ? -1 : ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int err = errno;
    if (probe >= 0)
        ::close(probe);
    if (rc == 0) {
        logcat::daemon().error("admin socket {}: another kextconfd is listening on it; stop that one first (two "
                               "daemons would fight over the kext)",
                               path_);
        return false;
    }
    if (err != ECONNREFUSED) {
        logcat::daemon().error("admin socket {}: cannot tell whether it is in use: {}", path_, errno_text(err));
        return false;
    }
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
        logcat::daemon().error("admin socket {}: cannot remove the stale socket: {}", path_, errno_text(errno));
        return false;
    }
    logcat::daemon().info("removed the stale admin socket {} (left by a daemon that did not stop cleanly)", path_);
    return true;
}

bool AdminServer::open()
{
    if (path_.empty() || path_.size() >= sizeof(sockaddr_un{}.sun_path)) {
        logcat::daemon().error("admin socket {}: path must be 1 to {} bytes", path_,
                               sizeof(sockaddr_un{}.sun_path) - 1);
        return false;
    }
    if (!remove_stale_socket())
        return false;
    boost::system::error_code ec;
    acceptor_.open(stream_protocol(), ec);
    if (!ec && !set_close_on_exec(acceptor_.native_handle()))
        ec.assign(errno, boost::system::system_category());
    if (!ec) {
        // Created 0600 from the start: no moment where others could connect.
        const mode_t old = ::umask(0177);
        acceptor_.bind(stream_protocol::endpoint(path_), ec);
        ::umask(old);
    }
    if (!ec)
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        logcat::daemon().error("admin socket {}: {}", path_, ec.message());
        return false;
    }
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0) {
        logcat::daemon().error("admin socket {}: vanished after bind: {}", path_, errno_text(errno));
        return false;
    }
    created_ = std::pair(st.st_dev, st.st_ino);
    if (!open_to_group())
        return false;
    // Its directory must not let just anyone replace the socket with theirs:
    // owned by root (or us), not world-writable unless sticky. Group-writable
    // is accepted: macOS ships /var/run as root:daemon 0775.
    const std::string dir = std::filesystem::path(path_).parent_path().string();
    struct stat ds {};
    if (::stat(dir.empty() ? "." : dir.c_str(), &ds) != 0) {
        logcat::daemon().error("admin socket {}: cannot stat its directory: {}", path_, errno_text(errno));
        return false;
    }
    if ((ds.st_uid != 0 && ds.st_uid != ::geteuid()) || ((ds.st_mode & S_IWOTH) && !(ds.st_mode & S_ISVTX))) {
        logcat::daemon().error("admin socket {}: its directory {} is {} (mode {:04o}); anyone could replace the "
                               "socket. Use a directory owned by root and not writable by others",
                               path_, dir,
                               ds.st_uid != 0 && ds.st_uid != ::geteuid() ? "owned by another user" : "world-writable",
                               static_cast<unsigned>(ds.st_mode & 07777));
        return false;
    }
    return true;
}

void AdminServer::start()
{
    asio::co_spawn(io_, accept_loop(), asio::detached);
}

asio::awaitable<void> AdminServer::accept_loop()
{
    for (;;) {
        boost::system::error_code ec;
        stream_protocol::socket sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted)
            co_return;
        if (ec) {
            // EMFILE and the like: say so and keep serving the ones that work.
            logcat::daemon().warn("admin socket {}: accept failed: {}", path_, ec.message());
            continue;
        }
        if (sessions_ >= kMaxAdminSessions) {
            logcat::daemon().warn("admin socket {}: {} connections already being served; closing a new one", path_,
                                  sessions_);
            continue; // the socket closes here
        }
        if (!set_close_on_exec(sock.native_handle())) {
            logcat::daemon().warn("admin socket {}: closing a new connection: cannot mark it close-on-exec: {}", path_,
                                  errno_text(errno));
            continue;
        }
        asio::co_spawn(io_, session(std::move(sock)), asio::detached);
    }
}

namespace {

// One admin connection: its socket and one deadline per phase, which closes
// the socket and so ends the pending read or write.
class Connection {
public:
    Connection(asio::io_context& io, stream_protocol::socket sock) : sock_(std::move(sock)), deadline_(io) {}

    int native_handle() { return sock_.native_handle(); }
    bool expired() const { return expired_; }
    // Neither timed out nor closed: a reply can still be written.
    bool usable() const { return !expired_ && sock_.is_open(); }

    // One request line of at most admin::kMaxMessage bytes (not_found: longer).
    asio::awaitable<std::size_t> read_line(std::string& in, boost::system::error_code& ec)
    {
        arm();
        const std::size_t n = co_await asio::async_read_until(sock_, asio::dynamic_buffer(in, admin::kMaxMessage), '\n',
                                                              asio::redirect_error(asio::use_awaitable, ec));
        deadline_.cancel();
        co_return n;
    }

    asio::awaitable<void> write(const std::string& out, boost::system::error_code& ec)
    {
        arm();
        co_await asio::async_write(sock_, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
        deadline_.cancel();
    }

    // Before closing: end our side and read what the client still sends
    // (bounded), so that it sees a clean end of file after our reply (or our
    // silence) rather than a reset for data left unread.
    asio::awaitable<void> linger()
    {
        boost::system::error_code ec;
        sock_.shutdown(asio::socket_base::shutdown_send, ec);
        arm();
        std::array<char, 4096> sink{};
        for (std::size_t total = 0; !ec && sock_.is_open() && total < admin::kMaxMessage;)
            total += co_await sock_.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
        deadline_.cancel();
    }

private:
    void arm()
    {
        deadline_.expires_after(kAdminRequestTimeout);
        deadline_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) {
                expired_ = true;
                boost::system::error_code ignored;
                sock_.close(ignored);
            }
        });
    }

    stream_protocol::socket sock_;
    asio::steady_timer deadline_;
    bool expired_ = false;
};

// Without an admin group a non-root peer gets no word (the client reports
// EACCES); with one, the group database is read once the request is in.
bool may_ask(const std::optional<PeerCred>& peer, const std::error_code& cred_ec, const std::string& admin_group)
{
    if (peer && (!admin_group.empty() || peer->uid == 0 || peer->uid == ::geteuid()))
        return true;
    if (peer)
        logcat::daemon().warn("admin socket: refused a client with uid {} (pid {}): only root may use it", peer->uid,
                              peer->pid);
    else
        logcat::daemon().warn("admin socket: refused a client whose credentials are unknown: {}", cred_ec.message());
    return false;
}

} // namespace

asio::awaitable<void> AdminServer::session(stream_protocol::socket sock)
{
    ++sessions_;
    struct Count {
        std::size_t& n;
        ~Count() { --n; }
    } count{sessions_};

    Connection conn(io_, std::move(sock));
    std::error_code cred_ec;
    const auto peer = peer_credentials(conn.native_handle(), cred_ec);
    if (!may_ask(peer, cred_ec, admin_group_)) {
        co_await conn.linger();
        co_return;
    }
    std::string in;
    boost::system::error_code ec;
    const std::size_t n = co_await conn.read_line(in, ec);
    if (ec && ec != asio::error::not_found) {
        logcat::daemon().debug("admin socket: client (pid {}) {} before sending a request", peer->pid,
                               conn.expired() ? "timed out" : "went away");
        co_return;
    }
    json reply = ec ? failure("request longer than " + std::to_string(admin::kMaxMessage) + " bytes")
                    : answer(*peer, in.substr(0, n - 1));
    if (!conn.usable())
        co_return;
    reply["v"] = admin::kVersion;
    co_await conn.write(reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", ec);
    if (ec) {
        logcat::daemon().debug("admin socket: reply to pid {} not delivered: {}", peer->pid,
                               conn.expired() ? "timed out" : ec.message());
        co_return;
    }
    co_await conn.linger();
}

json AdminServer::answer(const PeerCred& peer, const std::string& request)
{
    const auto access = admin_access(peer, admin_group_);
    if (access.allowed)
        return dispatch(request);
    logcat::daemon().warn("admin socket: refused pid {}: {}", peer.pid, access.why);
    json reply = failure(access.why);
    reply["denied"] = true;
    return reply;
}

json AdminServer::dispatch(const std::string& line)
{
    const json req = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!req.is_object())
        return failure("the request is not a JSON object on one line");
    const auto v = req.find("v");
    if (v == req.end() || !v->is_number_integer() || v->get<std::int64_t>() != admin::kVersion)
        return failure("unsupported admin protocol version " + (v == req.end() ? std::string("(none)") : v->dump()) +
                       "; this kextconfd speaks " + std::to_string(admin::kVersion) +
                       " (kextconfctl and kextconfd are from different releases)");
    const auto cmd = req.find("cmd");
    if (cmd == req.end() || !cmd->is_string())
        return failure("the request has no \"cmd\"");
    const auto it = commands_.find(cmd->get<std::string>());
    if (it == commands_.end()) {
        std::string known;
        for (const auto& [name, fn] : commands_)
            known += (known.empty() ? "" : ", ") + name;
        return failure("unknown command " + cmd->dump() + " (known: " + known + ")");
    }
    return it->second(req);
}

} // namespace kextconf
