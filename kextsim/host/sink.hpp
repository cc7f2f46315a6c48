// Where the records a kext enqueues (and kern_events) go: a data-channel
// socket handed to a client of `kextsim boot`, or an in-memory queue read by
// an in-process client (unit tests, fuzzers). Receive-buffer accounting
// (hiwat, cc) stays in ControlRegistry / EventService; a sink only carries.
//
// Threading: deliver() may be called from any kext thread; read() from the
// one client thread. Both are non-blocking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace kextsim {

class RecordSink {
public:
    virtual ~RecordSink() = default;
    // One enqueue: `eor` ends the record (CTL_DATA_EOR; always true for
    // events). False if the transport cannot take it now.
    virtual bool deliver(const void* data, std::size_t len, bool eor) = 0;
};

// The host end of a SOCK_SEQPACKET data channel (wire.hpp framing: control
// channels lead each message with a flags byte, event channels do not).
class SocketSink final : public RecordSink {
public:
    SocketSink(int fd, bool framed) : fd_(fd), framed_(framed) {}
    ~SocketSink() override;
    SocketSink(const SocketSink&) = delete;
    SocketSink& operator=(const SocketSink&) = delete;
    bool deliver(const void* data, std::size_t len, bool eor) override;

private:
    int fd_;
    bool framed_;
};

// An in-memory receive buffer with XNU's record semantics: fragments without
// EOR that are waiting when the client reads form one record with the
// fragment that ends it.
class QueueSink final : public RecordSink {
public:
    bool deliver(const void* data, std::size_t len, bool eor) override;
    // Reads one record into buf (truncating; the rest of the record is
    // dropped). Returns the record's full size in `record_len`; false if
    // nothing is waiting.
    bool read(void* buf, std::size_t len, std::size_t& copied, std::size_t& record_len);
    bool empty();

private:
    struct Fragment {
        std::vector<std::uint8_t> data;
        bool eor;
    };
    std::mutex m_;
    std::deque<Fragment> q_;
};

} // namespace kextsim
