// The kernel side of one PF_SYSTEM socket, independent of how the client
// reaches it: `kextsim boot` sessions (wire protocol over AF_UNIX) and the
// in-process host (direct calls) both drive these. Every XNU rule about
// connect, setsockopt/getsockopt and disconnect lives here, once.
//
// Threading: one client thread at a time per endpoint (XNU serializes
// connect/disconnect per socket); kext callbacks run on that thread with no
// host lock held.
#pragma once

#include "controls.hpp"
#include "events.hpp"
#include "sink.hpp"

#include <cstdint>
#include <memory>
#include <sys/types.h>
#include <vector>

namespace kextsim {

class ControlEndpoint {
public:
    // Largest getsockopt buffer kextsim copies in. A transport must carry at
    // least this much in one reply (session.cpp checks the wire's cap).
    static constexpr std::size_t kMaxOptBuffer = 64 * 1024;

    // `stream`: the client socket is SOCK_STREAM; `uid`: its effective uid.
    ControlEndpoint(bool stream, uid_t uid) : stream_(stream), uid_(uid) {}
    ~ControlEndpoint() { disconnect(); }
    ControlEndpoint(const ControlEndpoint&) = delete;
    ControlEndpoint& operator=(const ControlEndpoint&) = delete;

    // All return Darwin errnos. connect() runs ctl_connect (and ctl_disconnect
    // after a failure); the sink receives what the kext enqueues.
    int connect(std::uint32_t id, std::uint32_t unit, std::unique_ptr<RecordSink> sink, std::uint32_t& assigned);
    int setopt(int level, int opt, const std::vector<std::uint8_t>& value);
    // `buf` holds the caller's buffer (copied in; empty = NULL buffer of
    // `bufsize` 0). On success `len` is what the kext produced.
    int getopt(int level, int opt, std::vector<std::uint8_t>& buf, std::size_t& len);
    // Runs ctl_disconnect once; later calls do nothing.
    void disconnect();
    // The client read `bytes` from its receive buffer.
    void consumed(std::size_t bytes);
    bool connected() const { return static_cast<bool>(unit_); }

private:
    int socket_option(int opt, bool set, std::vector<std::uint8_t>& buf, std::size_t& len);

    bool stream_;
    uid_t uid_;
    ControlRef ctl_{};
    std::shared_ptr<Unit> unit_;
};

// A SYSPROTO_EVENT socket: its filter and receive-buffer accounting.
class EventEndpoint {
public:
    explicit EventEndpoint(std::unique_ptr<RecordSink> sink);
    ~EventEndpoint();
    EventEndpoint(const EventEndpoint&) = delete;
    EventEndpoint& operator=(const EventEndpoint&) = delete;

    void set_filter(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass);
    void filter(std::uint32_t& vendor, std::uint32_t& kev_class, std::uint32_t& subclass);
    void consumed(std::size_t bytes);

private:
    std::shared_ptr<Listener> listener_;
};

} // namespace kextsim
