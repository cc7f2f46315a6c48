// kextconfd's end of the admin socket (kextconf/admin_protocol.hpp): a
// local stream socket answering one JSON request per connection. Mode 0600,
// root (or the daemon's own uid) only; with an admin group, mode 0660 owned
// by that group, and its members are served too (admin_policy.hpp).
//
// Bounded: a request is at most admin::kMaxMessage bytes and must arrive
// within kAdminRequestTimeout, the reply must be taken within the same time,
// and at most kMaxAdminSessions connections are served at once. Each
// connection is a coroutine, so a client that connects and never writes
// holds nothing but its own connection.
//
// Threading: runs on the io_context's one thread only; the commands run
// there too, one at a time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>

namespace kextconf {

struct PeerCred;

// Time a client has to send its request line, and again to take the reply.
// A local client writes in microseconds; this only bounds a stuck one.
inline constexpr std::chrono::milliseconds kAdminRequestTimeout{2000};
// Connections served at once; more are closed at once (only root can connect).
inline constexpr std::size_t kMaxAdminSessions = 16;

class AdminServer {
public:
    // A command: the request object in, the reply object out (without "v",
    // which the server adds).
    using Command = std::function<nlohmann::json(const nlohmann::json& request)>;

    // admin_group: "" for root only.
    AdminServer(boost::asio::io_context& io, std::string path, std::string admin_group = {});
    // Removes the socket file if it is still the one this server made.
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    void add_command(const std::string& name, Command cmd) { commands_[name] = std::move(cmd); }

    // Creates the socket: a stale socket file (no one listening) is replaced,
    // anything else at the path is left alone. False (logged) if the socket
    // cannot be made, another daemon is listening, or the path is not safe.
    bool open();
    // Starts accepting connections.
    void start();

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> session(boost::asio::local::stream_protocol::socket sock);
    // The reply to one request line from `peer`, whose access is checked here.
    nlohmann::json answer(const PeerCred& peer, const std::string& request);
    nlohmann::json dispatch(const std::string& line);
    bool remove_stale_socket();
    // With an admin group: the socket file becomes root:<group> 0660.
    bool open_to_group();

    boost::asio::io_context& io_;
    std::string path_;
    std::string admin_group_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::map<std::string, Command> commands_;
    std::size_t sessions_ = 0;
    // The socket file this server created (for a safe unlink at exit).
    std::optional<std::pair<dev_t, ino_t>> created_;
};

} // namespace kextconf
