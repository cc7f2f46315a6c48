// `kextsim boot`: serves PF_SYSTEM-style sockets and kmutil-like management
// to other processes over <root>/kernel.sock. One thread per client runs that
// client's calls, so kext callbacks for different units run concurrently, as
// they do on the threads of different processes in XNU.
#pragma once

#include "loader.hpp"

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace kextsim {

class Session;

class Server {
public:
    explicit Server(std::string root);
    ~Server();

    // Creates the runtime directory and the listening socket. "" or an error.
    std::string start();
    // Accepts clients until stop() is called (from a signal watcher thread).
    void run();
    void stop();
    // Disconnects every client, then stops every kext (last loaded first).
    void shutdown(std::vector<std::string>& errors);

    KextLoader& loader() { return loader_; }
    const std::string& socket_path() const { return path_; }

private:
    void reap_finished();

    std::string root_;
    std::string path_;
    int listen_fd_ = -1;
    int wake_pipe_[2] = {-1, -1};
    std::atomic<bool> stopping_{false};
    KextLoader loader_;
    std::mutex sessions_m_;
    std::list<std::shared_ptr<Session>> sessions_;
};

} // namespace kextsim
