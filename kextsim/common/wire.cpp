#include "wire.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fcntl.h>

namespace kextsim::wire {

int send_message(int sock, const Header& hdr, const void* payload, std::size_t len, int fd_to_pass)
{
    Header h = hdr;
    h.len = static_cast<std::uint32_t>(len);
    iovec iov[2] = {{&h, sizeof h}, {const_cast<void*>(payload), len}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = len ? 2 : 1;
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))];
    if (fd_to_pass >= 0) {
        std::memset(ctrl, 0, sizeof ctrl);
        msg.msg_control = ctrl;
        msg.msg_controllen = sizeof ctrl;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
    }
    for (;;) {
        const ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return 0;
        if (errno != EINTR)
            return errno;
    }
}

int recv_message(int sock, Message& out)
{
    // Receive into a per-thread scratch buffer (not zero-filled) and copy
    // only what arrived: a request is usually a few dozen bytes, and sizing
    // the payload vector to kMaxPayload first would clear 64 KiB per call.
    thread_local const std::unique_ptr<std::uint8_t[]> scratch(new std::uint8_t[kMaxPayload]);
    out.fd = -1;
    iovec iov[2] = {{&out.hdr, sizeof out.hdr}, {scratch.get(), kMaxPayload}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))];
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            std::memcpy(&out.fd, CMSG_DATA(c), sizeof(int));
    if (n == 0)
        return ECONNRESET;
    if (static_cast<std::size_t>(n) < sizeof(Header) || (msg.msg_flags & MSG_TRUNC) ||
        out.hdr.len != static_cast<std::size_t>(n) - sizeof(Header)) {
        if (out.fd >= 0)
            ::close(out.fd);
        out.fd = -1;
        return EPROTO;
    }
    out.payload.assign(scratch.get(), scratch.get() + out.hdr.len);
    return 0;
}

namespace {
struct ErrnoPair {
    int darwin;
    int host;
};
// Darwin values (bsd/sys/errno.h) for the errnos whose numbers differ on the
// host; values 1..34 are the same on Darwin and Linux.
constexpr ErrnoPair kErrnoMap[] = {
    {35, EAGAIN},       {36, EINPROGRESS}, {37, EALREADY},      {38, ENOTSOCK},        {39, EDESTADDRREQ},
    {40, EMSGSIZE},     {41, EPROTOTYPE},  {42, ENOPROTOOPT},   {43, EPROTONOSUPPORT}, {45, ENOTSUP},
    {47, EAFNOSUPPORT}, {48, EADDRINUSE},  {49, EADDRNOTAVAIL}, {50, ENETDOWN},        {54, ECONNRESET},
    {55, ENOBUFS},      {56, EISCONN},     {57, ENOTCONN},      {60, ETIMEDOUT},       {61, ECONNREFUSED},
    {63, ENAMETOOLONG}, {66, ENOTEMPTY},   {78, ENOSYS},        {84, EOVERFLOW},       {89, ECANCELED},
    {100, EPROTO},      {102, EOPNOTSUPP},
};

// `err` from one side's numbering (`from`) to the other's (`to`); `unknown`
// when the other side has no such errno.
int translate(int err, int ErrnoPair::*from, int ErrnoPair::*to, int unknown)
{
    if (err >= 0 && err <= 34)
        return err;
    for (const auto& p : kErrnoMap)
        if (p.*from == err)
            return p.*to;
    return unknown;
}
} // namespace

int to_darwin_errno(int host_errno)
{
    return translate(host_errno, &ErrnoPair::host, &ErrnoPair::darwin, 5); // EIO: no Darwin equivalent
}

int from_darwin_errno(int darwin_errno)
{
    return translate(darwin_errno, &ErrnoPair::darwin, &ErrnoPair::host, EIO);
}

std::string runtime_root()
{
    if (const char* r = std::getenv("KEXTSIM_ROOT"); r != nullptr && *r != '\0')
        return r;
    if (::geteuid() == 0)
        return "/run/kextsim";
    return "/tmp/kextsim-" + std::to_string(::getuid());
}

std::string kernel_socket_path(const std::string& root)
{
    return root + "/kernel.sock";
}

} // namespace kextsim::wire
