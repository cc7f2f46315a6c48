// Session's handlers for the kernel's user-facing services: sysctl (what
// sysctl(3) and sysctl(8) do on macOS) and the kernel log (`log stream`).
#include "session.hpp"

#include "host.hpp"
#include "kxs_abi.h"
#include "wire_sysctl.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace kextsim {

namespace {
// Socket buffer of a log follower's channel: a burst of this many bytes is
// kept for a slow reader before lines are dropped.
constexpr int kLogChannelBytes = 1 << 20;

wire::SysctlRecord record_of(const SysctlInfo& info)
{
    wire::SysctlRecord r;
    r.path.assign(info.path.begin(), info.path.end());
    r.name = info.name;
    r.fmt = info.fmt;
    return r;
}
} // namespace

void Session::on_sysctl(const wire::Message& m)
{
    auto& tree = host().sysctl;
    SysctlInfo info;
    switch (static_cast<wire::SysctlAction>(m.hdr.a)) {
    case wire::SysctlAction::Read: {
        std::vector<std::uint8_t> value;
        if (int err = tree.read(m.text(), info, value); err != 0)
            return reply(m.hdr, err);
        auto r = record_of(info);
        r.value = std::move(value);
        const auto payload = wire::encode_sysctl(r);
        return reply(m.hdr, 0, payload.data(), payload.size(), info.kind, static_cast<std::uint32_t>(info.path.size()));
    }
    case wire::SysctlAction::Write: {
        const auto nul = std::find(m.payload.begin(), m.payload.end(), std::uint8_t{0});
        if (nul == m.payload.end())
            return reply(m.hdr, KXS_EINVAL);
        const std::string name(m.payload.begin(), nul);
        const std::vector<std::uint8_t> value(nul + 1, m.payload.end());
        return reply(m.hdr, tree.write(name, value, uid_ == 0));
    }
    case wire::SysctlAction::Next: {
        if (m.payload.size() % sizeof(std::int32_t) != 0)
            return reply(m.hdr, KXS_EINVAL);
        std::vector<int> path(m.payload.size() / sizeof(std::int32_t));
        for (std::size_t i = 0; i < path.size(); ++i) {
            std::int32_t v;
            std::memcpy(&v, m.payload.data() + i * sizeof v, sizeof v);
            path[i] = v;
        }
        if (int err = tree.next(path, info); err != 0)
            return reply(m.hdr, err);
        const auto payload = wire::encode_sysctl(record_of(info));
        return reply(m.hdr, 0, payload.data(), payload.size(), info.kind, static_cast<std::uint32_t>(info.path.size()));
    }
    }
    reply(m.hdr, KXS_EINVAL);
}

void Session::on_log(const wire::Message& m)
{
    if (uid_ != 0 && uid_ != ::geteuid()) {
        const std::string msg = "reading the kernel log needs root (or the user running kextsim boot)";
        return reply(m.hdr, KXS_EPERM, msg.data(), msg.size());
    }
    if (log_follower_ || kind_ != Kind::None)
        return reply(m.hdr, KXS_EINVAL); // one stream per connection, and not on a PF_SYSTEM socket
    std::vector<std::string> lines;
    int client_end = -1;
    if (m.hdr.a & wire::kLogFollow) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
            return reply(m.hdr, wire::to_darwin_errno(errno));
        ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &kLogChannelBytes, sizeof kLogChannelBytes);
        ::shutdown(sv[1], SHUT_WR);
        client_end = sv[1];
        log_follower_ = host().log.follow(sv[0], lines);
    } else {
        lines = host().log.lines();
    }
    // The newest lines that fit in one reply.
    std::string out;
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        if (out.size() + it->size() + 1 > wire::kMaxPayload)
            break;
        out.insert(0, *it + "\n");
    }
    reply(m.hdr, 0, out.data(), out.size(), 0, 0, client_end);
    if (client_end >= 0)
        ::close(client_end);
}

void Session::stop_log()
{
    if (log_follower_) {
        host().log.unfollow(log_follower_);
        log_follower_.reset();
    }
}

} // namespace kextsim
