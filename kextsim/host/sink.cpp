#include "sink.hpp"

#include "wire.hpp"

#include <algorithm>
#include <cstring>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace kextsim {

SocketSink::~SocketSink()
{
    if (fd_ >= 0)
        ::close(fd_);
}

bool SocketSink::deliver(const void* data, std::size_t len, bool eor)
{
    std::uint8_t flags = eor ? wire::kFragmentEor : 0;
    iovec iov[2] = {{&flags, 1}, {const_cast<void*>(data), len}};
    msghdr msg{};
    msg.msg_iov = framed_ ? iov : iov + 1;
    msg.msg_iovlen = framed_ ? (len ? 2 : 1) : 1;
    return ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0;
}

bool QueueSink::deliver(const void* data, std::size_t len, bool eor)
{
    const auto* p = static_cast<const std::uint8_t*>(data);
    std::lock_guard lock(m_);
    q_.push_back({std::vector<std::uint8_t>(p, p + len), eor});
    return true;
}

bool QueueSink::read(void* buf, std::size_t len, std::size_t& copied, std::size_t& record_len)
{
    std::vector<std::uint8_t> record;
    {
        std::lock_guard lock(m_);
        if (q_.empty())
            return false;
        while (!q_.empty()) {
            Fragment f = std::move(q_.front());
            q_.pop_front();
            record.insert(record.end(), f.data.begin(), f.data.end());
            if (f.eor)
                break;
        }
    }
    record_len = record.size();
    copied = std::min(len, record.size());
    if (copied != 0)
        std::memcpy(buf, record.data(), copied);
    return true;
}

bool QueueSink::empty()
{
    std::lock_guard lock(m_);
    return q_.empty();
}

} // namespace kextsim
