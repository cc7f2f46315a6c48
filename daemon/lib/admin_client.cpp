// Client side of kextconfd's admin socket (admin_protocol.hpp): one request,
// one reply, one connection. Plain POSIX; the same on macOS and Linux.
#include <kextconf/admin_protocol.hpp>

#include <kextconf/file.hpp>

#include <kextconf/defaults.hpp>

#include "socket_fd.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace kextconf::admin {

namespace {

using Clock = std::chrono::steady_clock;

// Waits for `events` on fd until the deadline; false with ec set otherwise.
bool wait_for(int fd, short events, Clock::time_point deadline, std::error_code& ec)
{
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            ec = std::make_error_code(std::errc::timed_out);
            return false;
        }
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left));
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR) {
            ec = std::error_code(errno, std::generic_category());
            return false;
        }
    }
}

// A connected socket to the server at `path` (-1 with ec set).
UniqueFd connect_to(const std::string& path, std::error_code& ec)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        ec = std::make_error_code(std::errc::filename_too_long);
        return UniqueFd();
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd s(open_socket(AF_UNIX, SOCK_STREAM, 0));
    if (s.get() < 0 || ::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ec = std::error_code(errno, std::generic_category());
        return UniqueFd();
    }
    return s;
}

bool send_all(int fd, const std::string& line, Clock::time_point deadline, std::error_code& ec)
{
    for (std::size_t off = 0; off < line.size();) {
        if (!wait_for(fd, POLLOUT, deadline, ec))
            return false;
        const ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            ec = std::error_code(errno, std::generic_category());
            return false;
        }
        off += static_cast<std::size_t>(n);
    }
    return true;
}

// The server's reply: one line, or what it sent before closing (at most
// kMaxMessage bytes).
bool receive_reply(int fd, std::string& in, Clock::time_point deadline, std::error_code& ec)
{
    char buf[4096];
    for (;;) {
        if (!wait_for(fd, POLLIN, deadline, ec))
            return false;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            ec = std::error_code(errno, std::generic_category());
            return false;
        }
        if (n == 0)
            return true; // the server closes after its reply
        in.append(buf, static_cast<std::size_t>(n));
        if (in.size() > kMaxMessage) {
            ec = std::make_error_code(std::errc::protocol_error);
            return false;
        }
        if (in.back() == '\n')
            return true;
    }
}

} // namespace

std::string default_socket_path()
{
    if (const char* env = std::getenv(kSocketEnv); env != nullptr && *env != '\0')
        return env;
    return KEXTCONF_DEFAULT_ADMIN_SOCKET;
}

nlohmann::json request(const std::string& socket_path, const nlohmann::json& req, std::chrono::milliseconds timeout,
                       std::error_code& ec)
{
    ec.clear();
    const auto deadline = Clock::now() + timeout;
    const UniqueFd s = connect_to(socket_path, ec);
    std::string in;
    if (s.get() < 0 || !send_all(s.get(), req.dump() + "\n", deadline, ec) || !receive_reply(s.get(), in, deadline, ec))
        return {};
    // A server that closed without a word refused us (not root).
    if (in.empty()) {
        ec = std::make_error_code(std::errc::permission_denied);
        return {};
    }
    auto reply = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object() || !reply.contains("ok")) {
        ec = std::make_error_code(std::errc::protocol_error);
        return {};
    }
    return reply;
}

} // namespace kextconf::admin
