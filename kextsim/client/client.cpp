#include <kextsim/client.hpp>

#include "connect_host.hpp"
#include "wire.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

static_assert(kextsim::kMessageHeaderBytes == sizeof(kextsim::wire::Header));

namespace kextsim {

int connect_host(const std::string& root)
{
    const std::string path = wire::kernel_socket_path(root.empty() ? wire::runtime_root() : root);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        // No socket file (ENOENT) means no host, not "no such control":
        // report both ways of finding no host as ECONNREFUSED.
        const int e = errno == ENOENT ? ECONNREFUSED : errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

namespace {

AdminResult admin(wire::Op op, const std::string& arg, const std::string& root)
{
    AdminResult r;
    const int fd = connect_host(root);
    if (fd < 0) {
        r.error = errno;
        r.message = "kextsim is not running at " + (root.empty() ? wire::runtime_root() : root) +
                    " (start it with: kextsim boot)";
        return r;
    }
    wire::Header h{static_cast<std::uint32_t>(op), 0, 0, 0, 0, 0};
    wire::Message m;
    int err = wire::send_message(fd, h, arg.data(), arg.size());
    if (err == 0)
        err = wire::recv_message(fd, m);
    ::close(fd);
    if (err != 0) {
        r.error = err;
        r.message = std::string("lost connection to kextsim: ") + std::strerror(err);
        return r;
    }
    r.error = wire::from_darwin_errno(m.hdr.status);
    r.message = m.text();
    return r;
}

} // namespace

std::string runtime_root()
{
    return wire::runtime_root();
}

std::unique_ptr<SystemSocket> SystemSocket::open(int type, int protocol, const std::string& root)
{
    const int fd = connect_host(root);
    if (fd < 0)
        return nullptr;
    std::unique_ptr<SystemSocket> s(new SystemSocket(fd, protocol));
    if (s->call(static_cast<std::uint32_t>(wire::Op::Socket), static_cast<std::uint32_t>(protocol),
                static_cast<std::uint32_t>(type), 0, nullptr, 0, nullptr, nullptr, nullptr, nullptr) != 0)
        return nullptr;
    return s;
}

SystemSocket::SystemSocket(int req_fd, int protocol) : req_fd_(req_fd), protocol_(protocol)
{
}

SystemSocket::~SystemSocket()
{
    if (data_fd_ >= 0)
        ::close(data_fd_);
    ::close(req_fd_);
}

int SystemSocket::call(std::uint32_t op, std::uint32_t a, std::uint32_t b, std::uint32_t c, const void* payload,
                       std::size_t len, void* out, std::size_t* out_len, std::uint32_t* out_a, std::uint32_t* out_c)
{
    if (len > wire::kMaxPayload) {
        errno = EMSGSIZE;
        return -1;
    }
    wire::Header h{op, 0, a, b, c, 0};
    int err = wire::send_message(req_fd_, h, payload, len);
    wire::Message m;
    if (err == 0)
        err = wire::recv_message(req_fd_, m);
    if (err != 0) {
        errno = err == ECONNRESET ? ENOTCONN : err;
        return -1;
    }
    if (m.fd >= 0) {
        if (data_fd_ >= 0)
            ::close(data_fd_);
        data_fd_ = m.fd;
    }
    if (m.hdr.status != 0) {
        errno = wire::from_darwin_errno(m.hdr.status);
        return -1;
    }
    if (out_a)
        *out_a = m.hdr.a;
    if (out_c)
        *out_c = m.hdr.c;
    if (out && out_len) {
        const std::size_t n = std::min(*out_len, m.payload.size());
        if (n != 0) // an empty payload's data() may be null
            std::memcpy(out, m.payload.data(), n);
        *out_len = n;
    }
    return 0;
}

int SystemSocket::ioctl(unsigned long request, void* arg)
{
    if (arg == nullptr) {
        errno = EFAULT;
        return -1;
    }
    switch (request) {
    case kCtlIocGInfo: {
        if (protocol_ != kSysprotoControl)
            break;
        auto* ci = static_cast<ctl_info*>(arg);
        const std::size_t n = strnlen(ci->ctl_name, kMaxKctlName);
        return call(static_cast<std::uint32_t>(wire::Op::CtlInfo), 0, 0, 0, ci->ctl_name, n, nullptr, nullptr,
                    &ci->ctl_id, nullptr);
    }
    case kCtlIocGCount: {
        if (protocol_ != kSysprotoControl)
            break;
        std::uint32_t count = 0;
        if (call(static_cast<std::uint32_t>(wire::Op::CtlCount), 0, 0, 0, nullptr, 0, nullptr, nullptr, &count,
                 nullptr) != 0)
            return -1;
        *static_cast<int*>(arg) = static_cast<int>(count);
        return 0;
    }
    case kSiocSKevFilt:
        if (protocol_ != kSysprotoEvent)
            break;
        return call(static_cast<std::uint32_t>(wire::Op::KevSetFilt), 0, 0, 0, arg, sizeof(kev_request), nullptr,
                    nullptr, nullptr, nullptr);
    case kSiocGKevFilt: {
        if (protocol_ != kSysprotoEvent)
            break;
        std::size_t n = sizeof(kev_request);
        return call(static_cast<std::uint32_t>(wire::Op::KevGetFilt), 0, 0, 0, nullptr, 0, arg, &n, nullptr, nullptr);
    }
    case kSiocGKevVendor: {
        if (protocol_ != kSysprotoEvent)
            break;
        auto* kv = static_cast<kev_vendor_code*>(arg);
        kv->vendor_string[kKevVendorCodeMaxStrLen - 1] = '\0'; // as XNU does
        return call(static_cast<std::uint32_t>(wire::Op::KevVendor), 0, 0, 0, kv->vendor_string,
                    std::strlen(kv->vendor_string), nullptr, nullptr, &kv->vendor_code, nullptr);
    }
    case kSiocGKevId: {
        if (protocol_ != kSysprotoEvent)
            break;
        return call(static_cast<std::uint32_t>(wire::Op::KevGetId), 0, 0, 0, nullptr, 0, nullptr, nullptr,
                    static_cast<std::uint32_t*>(arg), nullptr);
    }
    default: break;
    }
    errno = ENOTSUP;
    return -1;
}

int SystemSocket::connect(const sockaddr_ctl* addr, std::size_t len)
{
    if (addr == nullptr || len != sizeof(sockaddr_ctl) || addr->sc_len != sizeof(sockaddr_ctl)) {
        errno = EINVAL;
        return -1;
    }
    return call(static_cast<std::uint32_t>(wire::Op::Connect), addr->sc_id, addr->sc_unit, 0, nullptr, 0, nullptr,
                nullptr, nullptr, nullptr);
}

int SystemSocket::setsockopt(int level, int name, const void* value, std::size_t len)
{
    return call(static_cast<std::uint32_t>(wire::Op::SetOpt), static_cast<std::uint32_t>(level),
                static_cast<std::uint32_t>(name), 0, value, value ? len : 0, nullptr, nullptr, nullptr, nullptr);
}

namespace {

// Length of `p` without its trailing zero bytes, eight bytes at a time.
std::size_t significant_length(const std::uint8_t* p, std::size_t n)
{
    while (n >= sizeof(std::uint64_t)) {
        std::uint64_t w;
        std::memcpy(&w, p + n - sizeof w, sizeof w);
        if (w != 0)
            break;
        n -= sizeof w;
    }
    while (n > 0 && p[n - 1] == 0)
        --n;
    return n;
}

} // namespace

int SystemSocket::getsockopt(int level, int name, void* value, std::size_t* len)
{
    if (len == nullptr) {
        errno = EFAULT;
        return -1;
    }
    const std::size_t bufsize = value ? *len : 0;
    // The kernel copies the whole buffer in; the host rebuilds it from c =
    // bufsize and zero-fills after the payload, so trailing zero bytes need
    // not travel (a get sends 8 bytes of request in an 8 KiB buffer).
    const std::size_t in_len = significant_length(static_cast<const std::uint8_t*>(value), bufsize);
    std::uint32_t produced = 0;
    std::size_t out_len = bufsize;
    if (call(static_cast<std::uint32_t>(wire::Op::GetOpt), static_cast<std::uint32_t>(level),
             static_cast<std::uint32_t>(name), static_cast<std::uint32_t>(bufsize), value, in_len, value, &out_len,
             nullptr, &produced) != 0)
        return -1;
    *len = produced;
    return 0;
}

namespace {

// Reads one whole message from a SEQPACKET socket into `out` (sized by a
// peek first). Returns its length, 0 at EOF, -1 with errno.
ssize_t read_message(int fd, std::vector<std::uint8_t>& out, int flags)
{
    ssize_t n;
    do {
        n = ::recv(fd, nullptr, 0, (flags & MSG_DONTWAIT) | MSG_PEEK | MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n;
    out.resize(static_cast<std::size_t>(n));
    do {
        n = ::recv(fd, out.data(), out.size(), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n;
}

} // namespace

ssize_t SystemSocket::recv(void* buf, std::size_t len, int flags)
{
    if (data_fd_ < 0) {
        errno = ENOTCONN;
        return -1;
    }
    std::vector<std::uint8_t> record;
    std::vector<std::uint8_t> msg;
    std::size_t consumed = 0;
    if (protocol_ == kSysprotoEvent) {
        // Event sockets: one message is one kern_event_msg.
        const ssize_t n = read_message(data_fd_, record, flags);
        if (n <= 0) {
            if (n == 0)
                errno = ENOTCONN; // the host went away
            return -1;
        }
        consumed = record.size();
    } else {
        // Control sockets: merge the fragments waiting now, up to one marked
        // EOR; that is the record XNU's socket buffer would hold.
        int rflags = flags;
        for (;;) {
            const ssize_t n = read_message(data_fd_, msg, rflags);
            if (n < 0 && !record.empty() && (errno == EAGAIN || errno == EWOULDBLOCK))
                break; // nothing more appended yet: the record ends here
            if (n <= 0) {
                if (n == 0)
                    errno = ENOTCONN; // the host closed the channel
                return -1;
            }
            record.insert(record.end(), msg.begin() + 1, msg.end());
            consumed += msg.size() - 1;
            if (msg[0] & wire::kFragmentEor)
                break;
            rflags = MSG_DONTWAIT;
        }
    }
    // The record leaves the receive buffer before recv returns, as in XNU
    // (sbdroprecord): wait for the host to account it.
    if (call(static_cast<std::uint32_t>(wire::Op::Ack), static_cast<std::uint32_t>(consumed), 0, 0, nullptr, 0, nullptr,
             nullptr, nullptr, nullptr) != 0)
        return -1;
    // A short buffer truncates the record; the rest is dropped (MSG_TRUNC).
    const std::size_t n = std::min(len, record.size());
    if (n != 0)
        std::memcpy(buf, record.data(), n);
    return static_cast<ssize_t>(n);
}

ssize_t SystemSocket::recv_waiting(std::vector<std::vector<std::uint8_t>>& records, std::size_t max)
{
    if (data_fd_ < 0 || protocol_ != kSysprotoEvent) {
        errno = data_fd_ < 0 ? ENOTCONN : EOPNOTSUPP;
        return -1;
    }
    std::size_t taken = 0;
    std::size_t consumed = 0;
    std::vector<std::uint8_t> record;
    while (taken < max) {
        const ssize_t n = read_message(data_fd_, record, MSG_DONTWAIT);
        if (n <= 0) {
            if (taken != 0)
                break; // what was read is accounted below; the error shows at the next call
            if (n == 0)
                errno = ENOTCONN; // the host went away
            return -1;
        }
        consumed += record.size();
        records.push_back(std::move(record));
        record = {};
        ++taken;
    }
    if (taken == 0) {
        errno = EAGAIN;
        return -1;
    }
    // As recv: the records leave the receive buffer before this returns.
    if (call(static_cast<std::uint32_t>(wire::Op::Ack), static_cast<std::uint32_t>(consumed), 0, 0, nullptr, 0, nullptr,
             nullptr, nullptr, nullptr) != 0)
        return -1;
    return static_cast<ssize_t>(taken);
}

AdminResult load_kext(const std::string& bundle_path, const std::string& root)
{
    return admin(wire::Op::Load, bundle_path, root);
}

AdminResult unload_kext(const std::string& bundle_id, const std::string& root)
{
    return admin(wire::Op::Unload, bundle_id, root);
}

AdminResult show_loaded(const std::string& root)
{
    return admin(wire::Op::ShowLoaded, {}, root);
}

AdminResult host_stats(const std::string& root)
{
    return admin(wire::Op::Stats, {}, root);
}

} // namespace kextsim
