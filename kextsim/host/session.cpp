#include "session.hpp"

#include <kextsim/darwin.hpp>

#include "host.hpp"
#include "kxs_abi.h"
#include "loader.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kextsim {

namespace {
constexpr std::uint32_t kKevRequestSize = sizeof(kev_request);

int make_data_channel(int& host_end, int& client_end)
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return wire::to_darwin_errno(errno);
    host_end = sv[0];
    client_end = sv[1];
    // Room for a full receive buffer of small records; the kext-visible limit
    // is the byte accounting in ControlRegistry / EventService, not this.
    const int size = 1 << 20;
    ::setsockopt(host_end, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    ::shutdown(client_end, SHUT_WR);
    return 0;
}
} // namespace

Session::Session(int fd, uid_t peer_uid, pid_t peer_pid, KextLoader& loader)
    : fd_(fd), uid_(peer_uid), pid_(peer_pid), loader_(loader)
{
}

Session::~Session()
{
    join();
    close_fd();
}

void Session::close_fd()
{
    std::lock_guard lock(fd_m_);
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

void Session::start()
{
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
}

void Session::interrupt()
{
    std::lock_guard lock(fd_m_);
    if (fd_ >= 0)
        ::shutdown(fd_, SHUT_RDWR);
}

void Session::join()
{
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
        thread_.join();
}

void Session::run()
{
    set_current_proc(pid_, uid_); // the kext's callbacks run on behalf of this client
    wire::Message m;
    while (wire::recv_message(fd_, m) == 0) {
        if (m.fd >= 0) { // clients never pass descriptors
            ::close(m.fd);
            m.fd = -1;
        }
        handle(m);
    }
    disconnect();
    close_fd(); // release the descriptor now, not when the session is reaped
    finished_ = true;
}

void Session::reply(const wire::Header& req, int status, const void* payload, std::size_t len, std::uint32_t a,
                    std::uint32_t c, int fd)
{
    wire::Header h{req.op, status, a, 0, c, 0};
    wire::send_message(fd_, h, payload, len, fd);
}

void Session::handle(const wire::Message& m)
{
    auto& h = host();
    switch (static_cast<wire::Op>(m.hdr.op)) {
    case wire::Op::Socket: on_socket(m); return;
    case wire::Op::CtlInfo: {
        std::uint32_t id = 0;
        const int err = h.controls.find_by_name(m.text(), id);
        reply(m.hdr, err, nullptr, 0, id);
        return;
    }
    case wire::Op::CtlCount: reply(m.hdr, 0, nullptr, 0, static_cast<std::uint32_t>(h.controls.count())); return;
    case wire::Op::Connect: on_connect(m); return;
    case wire::Op::SetOpt:
    case wire::Op::GetOpt:
        if (control_ && h.faults.should_fail(FaultSite::Stall))
            return stall(m);
        return m.hdr.op == static_cast<std::uint32_t>(wire::Op::SetOpt) ? on_setopt(m) : on_getopt(m);
    case wire::Op::Ack:
        if (control_)
            control_->consumed(m.hdr.a);
        else if (events_)
            events_->consumed(m.hdr.a);
        return reply(m.hdr, 0); // the client's recv returns only after this
    case wire::Op::KevSetFilt:
        if (kind_ != Kind::Event || m.payload.size() != kKevRequestSize)
            return reply(m.hdr, kind_ != Kind::Event ? KXS_ENOTSUP : KXS_EINVAL);
        {
            std::uint32_t req[3];
            std::memcpy(req, m.payload.data(), sizeof req);
            events_->set_filter(req[0], req[1], req[2]);
        }
        return reply(m.hdr, 0);
    case wire::Op::KevGetFilt: {
        if (kind_ != Kind::Event)
            return reply(m.hdr, KXS_ENOTSUP);
        std::uint32_t req[3];
        events_->filter(req[0], req[1], req[2]);
        return reply(m.hdr, 0, req, sizeof req);
    }
    case wire::Op::KevVendor: {
        if (kind_ != Kind::Event)
            return reply(m.hdr, KXS_ENOTSUP);
        std::uint32_t code = 0;
        const int err = h.events.lookup_vendor(m.text(), code);
        return reply(m.hdr, err, nullptr, 0, code);
    }
    case wire::Op::KevGetId:
        if (kind_ != Kind::Event)
            return reply(m.hdr, KXS_ENOTSUP);
        return reply(m.hdr, 0, nullptr, 0, h.events.last_id());
    case wire::Op::Load:
    case wire::Op::Unload:
    case wire::Op::ShowLoaded:
    case wire::Op::Stats: on_admin(m); return;
    case wire::Op::Sysctl: on_sysctl(m); return;
    case wire::Op::Log: on_log(m); return;
    }
    reply(m.hdr, KXS_ENOTSUP);
}

void Session::on_socket(const wire::Message& m)
{
    if (kind_ != Kind::None)
        return reply(m.hdr, KXS_EINVAL);
    const auto proto = static_cast<int>(m.hdr.a);
    const auto type = static_cast<int>(m.hdr.b);
    if (proto == kSysprotoControl) {
        if (type != kSockDgram && type != kSockStream)
            return reply(m.hdr, KXS_EPROTOTYPE);
        kind_ = Kind::Control;
        control_ = std::make_unique<ControlEndpoint>(type == kSockStream, uid_);
        return reply(m.hdr, 0);
    }
    if (proto == kSysprotoEvent) {
        if (type != kSockRaw)
            return reply(m.hdr, KXS_EPROTOTYPE);
        int host_end = -1;
        int client_end = -1;
        if (int err = make_data_channel(host_end, client_end); err != 0)
            return reply(m.hdr, err);
        kind_ = Kind::Event;
        events_ = std::make_unique<EventEndpoint>(std::make_unique<SocketSink>(host_end, false));
        reply(m.hdr, 0, nullptr, 0, 0, 0, client_end);
        ::close(client_end);
        return;
    }
    reply(m.hdr, 43 /* EPROTONOSUPPORT */);
}

void Session::on_connect(const wire::Message& m)
{
    if (kind_ != Kind::Control)
        return reply(m.hdr, KXS_ENOTSUP);
    int host_end = -1;
    int client_end = -1;
    if (int err = make_data_channel(host_end, client_end); err != 0)
        return reply(m.hdr, err);
    std::uint32_t unit = 0;
    const int err = control_->connect(m.hdr.a, m.hdr.b, std::make_unique<SocketSink>(host_end, true), unit);
    if (err != 0) {
        ::close(client_end);
        return reply(m.hdr, err);
    }
    reply(m.hdr, 0, nullptr, 0, unit, 0, client_end);
    ::close(client_end);
}

void Session::stall(const wire::Message& m)
{
    // Fault site "stall": the request is never run nor answered, as if the
    // kext blocked in it, so a test can kill the client at an exact step.
    // Waits (no timeout) for the client to close or the host to interrupt.
    std::fprintf(stderr, "kextsim: stalling %s option %u of pid %d until the client goes away\n",
                 m.hdr.op == static_cast<std::uint32_t>(wire::Op::SetOpt) ? "setsockopt" : "getsockopt", m.hdr.b,
                 static_cast<int>(pid_));
    pollfd p{fd_, POLLRDHUP, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    std::fprintf(stderr, "kextsim: stalled request dropped: the client went away\n");
}

void Session::on_setopt(const wire::Message& m)
{
    if (!control_)
        return reply(m.hdr, KXS_ENOTCONN);
    reply(m.hdr, control_->setopt(static_cast<int>(m.hdr.a), static_cast<int>(m.hdr.b), m.payload));
}

void Session::on_getopt(const wire::Message& m)
{
    if (!control_)
        return reply(m.hdr, KXS_ENOTCONN);
    const std::size_t bufsize = m.hdr.c;
    static_assert(ControlEndpoint::kMaxOptBuffer <= wire::kMaxPayload, "a getsockopt reply fits one message");
    if (bufsize > ControlEndpoint::kMaxOptBuffer || m.payload.size() > bufsize)
        return reply(m.hdr, KXS_EINVAL);
    // The caller's buffer is copied in first, so input can travel in getsockopt.
    std::vector<std::uint8_t> buf(bufsize);
    std::copy(m.payload.begin(), m.payload.end(), buf.begin());
    std::size_t len = 0;
    const int err = control_->getopt(static_cast<int>(m.hdr.a), static_cast<int>(m.hdr.b), buf, len);
    if (err != 0)
        return reply(m.hdr, err);
    if (bufsize == 0)
        return reply(m.hdr, 0, nullptr, 0, 0, static_cast<std::uint32_t>(len));
    reply(m.hdr, 0, buf.data(), len, 0, static_cast<std::uint32_t>(len));
}

void Session::on_admin(const wire::Message& m)
{
    if (uid_ != 0 && uid_ != ::geteuid()) {
        const std::string msg = "kext management needs root (or the user running kextsim boot)";
        return reply(m.hdr, KXS_EPERM, msg.data(), msg.size());
    }
    std::string out;
    int status = 0;
    switch (static_cast<wire::Op>(m.hdr.op)) {
    case wire::Op::Load:
        out = loader_.load(m.text());
        status = out.empty() ? 0 : KXS_EINVAL;
        if (status == 0)
            out = "loaded " + m.text();
        break;
    case wire::Op::Unload: status = loader_.unload(m.text(), out); break;
    case wire::Op::ShowLoaded: out = loader_.show_loaded(); break;
    case wire::Op::Stats:
        out = host().controls.describe() + "events_dropped " + std::to_string(host().events.total_dropped()) +
              "\nevent_last_id " + std::to_string(host().events.last_id()) + "\nfaults_injected " +
              std::to_string(host().faults.injected()) + "\n";
        break;
    default: status = KXS_ENOTSUP;
    }
    reply(m.hdr, status, out.data(), std::min(out.size(), wire::kMaxPayload));
}

void Session::disconnect()
{
    control_.reset(); // runs ctl_disconnect
    events_.reset();
    stop_log();
}

} // namespace kextsim
