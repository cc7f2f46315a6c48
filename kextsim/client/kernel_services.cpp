// Client side of the kernel's user-facing services on `kextsim boot`:
// sysctl (SysctlClient) and the kernel log (LogStream).
#include <kextsim/client.hpp>

#include "connect_host.hpp"
#include "wire.hpp"
#include "wire_sysctl.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace kextsim {

namespace {

// One request and its reply on `fd`; 0 or a host errno (transport failures
// included), the reply in `out`.
int exchange(int fd, wire::Op op, std::uint32_t a, const void* payload, std::size_t len, wire::Message& out)
{
    if (len > wire::kMaxPayload)
        return EMSGSIZE;
    wire::Header h{static_cast<std::uint32_t>(op), 0, a, 0, 0, 0};
    int err = wire::send_message(fd, h, payload, len);
    if (err == 0)
        err = wire::recv_message(fd, out);
    if (err != 0)
        return err == ECONNRESET ? ENOTCONN : err;
    return wire::from_darwin_errno(out.hdr.status);
}

SysctlOid oid_of(int err, const wire::Message& m)
{
    SysctlOid oid;
    oid.error = err;
    if (err != 0)
        return oid;
    wire::SysctlRecord r;
    if (!wire::decode_sysctl(m.payload, m.hdr.c, r)) {
        oid.error = EPROTO;
        return oid;
    }
    oid.path.assign(r.path.begin(), r.path.end());
    oid.name = std::move(r.name);
    oid.kind = m.hdr.a;
    oid.fmt = std::move(r.fmt);
    oid.value = std::move(r.value);
    return oid;
}

} // namespace

std::unique_ptr<SysctlClient> SysctlClient::open(const std::string& root)
{
    const int fd = connect_host(root);
    if (fd < 0)
        return nullptr;
    return std::unique_ptr<SysctlClient>(new SysctlClient(fd));
}

SysctlClient::~SysctlClient()
{
    ::close(fd_);
}

SysctlOid SysctlClient::read(const std::string& name)
{
    wire::Message m;
    const int err = exchange(fd_, wire::Op::Sysctl, static_cast<std::uint32_t>(wire::SysctlAction::Read), name.data(),
                             name.size(), m);
    return oid_of(err, m);
}

SysctlOid SysctlClient::next(const std::vector<int>& path)
{
    std::vector<std::int32_t> p(path.begin(), path.end());
    wire::Message m;
    const int err = exchange(fd_, wire::Op::Sysctl, static_cast<std::uint32_t>(wire::SysctlAction::Next), p.data(),
                             p.size() * sizeof(std::int32_t), m);
    return oid_of(err, m);
}

int SysctlClient::write(const std::string& name, const void* value, std::size_t len)
{
    std::vector<std::uint8_t> payload(name.begin(), name.end());
    payload.push_back(0);
    const auto* v = static_cast<const std::uint8_t*>(value);
    if (len != 0)
        payload.insert(payload.end(), v, v + len);
    wire::Message m;
    return exchange(fd_, wire::Op::Sysctl, static_cast<std::uint32_t>(wire::SysctlAction::Write), payload.data(),
                    payload.size(), m);
}

std::unique_ptr<LogStream> LogStream::open(bool follow, const std::string& root)
{
    const int fd = connect_host(root);
    if (fd < 0)
        return nullptr;
    wire::Message m;
    if (int err = exchange(fd, wire::Op::Log, follow ? wire::kLogFollow : 0, nullptr, 0, m); err != 0) {
        if (m.fd >= 0)
            ::close(m.fd);
        ::close(fd);
        errno = err;
        return nullptr;
    }
    std::unique_ptr<LogStream> s(new LogStream(fd, m.fd));
    const std::string text = m.text();
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        s->backlog_.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return s;
}

LogStream::~LogStream()
{
    if (data_fd_ >= 0)
        ::close(data_fd_);
    ::close(req_fd_);
}

bool LogStream::next(std::string& line)
{
    if (data_fd_ < 0)
        return false;
    ssize_t n;
    do {
        n = ::recv(data_fd_, nullptr, 0, MSG_PEEK | MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return false; // EOF: the host closed the channel
    line.resize(static_cast<std::size_t>(n));
    do {
        n = ::recv(data_fd_, line.data(), line.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return false;
    line.resize(static_cast<std::size_t>(n));
    return true;
}

} // namespace kextsim
