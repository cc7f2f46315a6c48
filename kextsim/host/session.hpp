// One client connection to `kextsim boot`: a PF_SYSTEM socket (control or
// event) or a management client. Runs on its own thread.
#pragma once

#include "endpoint.hpp"
#include "log.hpp"
#include "wire.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

namespace kextsim {

class KextLoader;

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(int fd, uid_t peer_uid, pid_t peer_pid, KextLoader& loader);
    ~Session();
    void start();
    void interrupt(); // wakes the thread; it disconnects and ends
    void join();
    bool finished() const { return finished_.load(); }

private:
    enum class Kind { None, Control, Event };

    void run();
    void reply(const wire::Header& req, int status, const void* payload = nullptr, std::size_t len = 0,
               std::uint32_t a = 0, std::uint32_t c = 0, int fd = -1);
    void handle(const wire::Message& m);
    void on_socket(const wire::Message& m);
    void on_connect(const wire::Message& m);
    void on_setopt(const wire::Message& m);
    void on_getopt(const wire::Message& m);
    void stall(const wire::Message& m); // fault site "stall"
    void on_admin(const wire::Message& m);
    void on_sysctl(const wire::Message& m); // session_services.cpp
    void on_log(const wire::Message& m);
    void stop_log();
    void disconnect();
    void close_fd();

    std::mutex fd_m_; // fd_ is closed when the session ends, interrupt() may race
    int fd_;
    uid_t uid_;
    pid_t pid_;
    KextLoader& loader_;
    std::thread thread_;
    std::atomic<bool> finished_{false};

    Kind kind_ = Kind::None;
    std::unique_ptr<ControlEndpoint> control_;
    std::unique_ptr<EventEndpoint> events_;
    std::shared_ptr<LogFollower> log_follower_; // `kextsim log --follow`
};

} // namespace kextsim
