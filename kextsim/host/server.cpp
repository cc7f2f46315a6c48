#include "server.hpp"

#include "kxs_abi.h"
#include "session.hpp"
#include "wire.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace kextsim {

Server::Server(std::string root) : root_(std::move(root)), path_(wire::kernel_socket_path(root_))
{
}

Server::~Server()
{
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        ::unlink(path_.c_str());
    }
    for (int fd : wake_pipe_)
        if (fd >= 0)
            ::close(fd);
}

std::string Server::start()
{
    kxs_kern_init();
    if (::mkdir(root_.c_str(), 0755) != 0 && errno != EEXIST)
        return "cannot create runtime directory " + root_ + ": " + std::strerror(errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path)
        return "runtime directory path too long for a socket: " + path_;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);

    // Refuse to take over a live host; clean up after a dead one.
    const int probe = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
        const bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(probe);
        if (live)
            return "another kextsim is already running at " + path_ + " (set KEXTSIM_ROOT to run a second one)";
    }
    ::unlink(path_.c_str());

    listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0)
        return std::string("socket: ") + std::strerror(errno);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return "cannot bind " + path_ + ": " + std::strerror(errno);
    // Anyone may open a PF_SYSTEM socket; privilege is checked per control on
    // the peer's credentials, as XNU checks the caller's.
    ::chmod(path_.c_str(), 0666);
    if (::listen(listen_fd_, 64) != 0)
        return std::string("listen: ") + std::strerror(errno);
    if (::pipe2(wake_pipe_, O_CLOEXEC) != 0)
        return std::string("pipe: ") + std::strerror(errno);
    return {};
}

void Server::run()
{
    while (!stopping_) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            ::close(fd);
            continue;
        }
        auto s = std::make_shared<Session>(fd, cred.uid, cred.pid, loader_);
        reap_finished();
        {
            std::lock_guard lock(sessions_m_);
            sessions_.push_back(s);
        }
        s->start();
    }
}

void Server::stop()
{
    stopping_ = true;
    const char c = 'x';
    [[maybe_unused]] const ssize_t n = ::write(wake_pipe_[1], &c, 1);
}

void Server::reap_finished()
{
    std::lock_guard lock(sessions_m_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        if ((*it)->finished()) {
            (*it)->join();
            it = sessions_.erase(it);
        } else {
            ++it;
        }
    }
}

void Server::shutdown(std::vector<std::string>& errors)
{
    std::list<std::shared_ptr<Session>> sessions;
    {
        std::lock_guard lock(sessions_m_);
        sessions.swap(sessions_);
    }
    for (auto& s : sessions)
        s->interrupt();
    for (auto& s : sessions)
        s->join();
    loader_.unload_all(errors);
}

} // namespace kextsim
