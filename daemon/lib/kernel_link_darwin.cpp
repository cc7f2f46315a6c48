// Kernel link over PF_SYSTEM sockets (macOS): the real kernel control and
// kernel event KPIs, as tcplognke's user tool and utun clients use them.
#include "socket_fd.hpp"

#include <kextconf/defaults.hpp>
#include <kextconf/kernel_link.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/kern_control.h>
#include <sys/kern_event.h>
#include <sys/socket.h>
#include <sys/sys_domain.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

extern char** environ;

namespace kextconf {

// kernel_link.hpp names Apple's kern_event coordinates for every platform;
// here they must be the SDK's.
static_assert(kKevVendorApple == KEV_VENDOR_APPLE && kKevSystemClass == KEV_SYSTEM_CLASS &&
              kKevCtlSubclass == KEV_CTL_SUBCLASS && kKevCtlRegistered == KEV_CTL_REGISTERED &&
              kKevCtlDeregistered == KEV_CTL_DEREGISTERED);

struct ControlSocket::Impl {
    int fd = -1;
    ~Impl()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

struct EventSocket::Impl {
    int fd = -1;
    ~Impl()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

namespace {
std::error_code last_error()
{
    return {errno, std::generic_category()};
}
} // namespace

std::string kernel_link_description()
{
    return "the kernel";
}

ControlSocket::ControlSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl))
{
}
ControlSocket::ControlSocket() = default;
ControlSocket::~ControlSocket() = default;

std::unique_ptr<ControlSocket> ControlSocket::connect(const std::string& name, std::error_code& ec)
{
    auto impl = std::make_unique<Impl>();
    impl->fd = open_socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL);
    if (impl->fd < 0) {
        ec = last_error();
        return nullptr;
    }
    ctl_info info{};
    if (name.size() >= sizeof info.ctl_name) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return nullptr;
    }
    std::memcpy(info.ctl_name, name.c_str(), name.size());
    if (::ioctl(impl->fd, CTLIOCGINFO, &info) != 0) {
        ec = last_error();
        return nullptr;
    }
    sockaddr_ctl addr{};
    addr.sc_len = sizeof addr;
    addr.sc_family = AF_SYSTEM;
    addr.ss_sysaddr = AF_SYS_CONTROL;
    addr.sc_id = info.ctl_id;
    addr.sc_unit = 0;
    if (::connect(impl->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ec = last_error();
        return nullptr;
    }
    ec.clear();
    return std::unique_ptr<ControlSocket>(new ControlSocket(std::move(impl)));
}

std::error_code ControlSocket::setopt(int opt, proto::ByteView value)
{
    if (::setsockopt(impl_->fd, SYSPROTO_CONTROL, opt, value.data(), static_cast<socklen_t>(value.size())) != 0)
        return last_error();
    return {};
}

std::error_code ControlSocket::getopt(int opt, proto::ByteView in, std::size_t out_size, proto::Bytes& out)
{
    out.assign(std::max(out_size, in.size()), 0);
    std::copy(in.begin(), in.end(), out.begin());
    socklen_t len = static_cast<socklen_t>(out.size());
    if (::getsockopt(impl_->fd, SYSPROTO_CONTROL, opt, out.empty() ? nullptr : out.data(), &len) != 0)
        return last_error();
    out.resize(std::min<std::size_t>(len, out.size()));
    return {};
}

EventSocket::EventSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl))
{
}
EventSocket::~EventSocket() = default;

std::unique_ptr<EventSocket> EventSocket::open(std::error_code& ec)
{
    auto impl = std::make_unique<Impl>();
    impl->fd = open_socket(PF_SYSTEM, SOCK_RAW, SYSPROTO_EVENT);
    if (impl->fd < 0) {
        ec = last_error();
        return nullptr;
    }
    ec.clear();
    return std::unique_ptr<EventSocket>(new EventSocket(std::move(impl)));
}

std::error_code EventSocket::set_filter(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass)
{
    kev_request req{vendor, kev_class, subclass};
    if (::ioctl(impl_->fd, SIOCSKEVFILT, &req) != 0)
        return last_error();
    return {};
}

std::error_code EventSocket::vendor_code(const std::string& vendor, std::uint32_t& code)
{
    kev_vendor_code kv{};
    if (vendor.size() >= sizeof kv.vendor_string)
        return std::make_error_code(std::errc::invalid_argument);
    std::memcpy(kv.vendor_string, vendor.c_str(), vendor.size());
    if (::ioctl(impl_->fd, SIOCGKEVVENDOR, &kv) != 0)
        return last_error();
    code = kv.vendor_code;
    return {};
}

int EventSocket::native_handle() const
{
    return impl_->fd;
}

std::optional<KernEvent> EventSocket::read(std::error_code& ec)
{
    ec.clear();
    std::uint8_t buf[1024];
    const ssize_t n = ::recv(impl_->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            ec = last_error();
        return std::nullopt;
    }
    if (static_cast<std::size_t>(n) < KEV_MSG_HEADER_SIZE)
        return std::nullopt;
    kern_event_msg h{};
    std::memcpy(&h, buf, KEV_MSG_HEADER_SIZE);
    KernEvent e{h.vendor_code, h.kev_class, h.kev_subclass, h.id, h.event_code, {}};
    const std::size_t total = std::min<std::size_t>(h.total_size, static_cast<std::size_t>(n));
    if (total > KEV_MSG_HEADER_SIZE)
        e.data.assign(buf + KEV_MSG_HEADER_SIZE, buf + total);
    return e;
}

namespace {

// kmutil(8): the only supported loader on macOS 11+.
constexpr const char* kKmutil = "/usr/bin/kmutil";

// Runs kmutil with `args`, its stdout and stderr captured together.
KextError run_kmutil(const std::vector<std::string>& args)
{
    int pipefd[2];
    if (::pipe(pipefd) != 0)
        return {last_error(), "pipe failed"};
    // kmutil gets /dev/null, the pipe and nothing else: with
    // POSIX_SPAWN_CLOEXEC_DEFAULT every other descriptor of the daemon (admin
    // socket, client connections, kernel controls, state files) is closed.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_CLOEXEC_DEFAULT);
    std::vector<std::string> argv_s{kKmutil};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, kKmutil, &fa, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    ::close(pipefd[1]);
    std::string out;
    if (rc == 0) {
        char buf[4096];
        for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) != 0;) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(pipefd[0]);
    if (rc != 0)
        return {std::error_code(rc, std::generic_category()), std::string("cannot run ") + kKmutil};
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return {std::make_error_code(std::errc::operation_not_permitted),
                "kmutil " + args.front() + " failed (" +
                    (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : std::string("killed")) +
                    "): " + out};
    return {{}, out};
}

} // namespace

KextError load_kext_bundle(const std::string& bundle_path)
{
    auto r = run_kmutil({"load", "-p", bundle_path});
    if (r)
        r.message += "\nIf the kext has not been approved yet: System Settings > Privacy & Security > Allow, then "
                     "restart (on Apple silicon first lower the security policy to Reduced Security in Recovery; "
                     "see docs/operations.md)";
    return r;
}

KextError unload_kext_bundle(const std::string& bundle_id)
{
    auto r = run_kmutil({"unload", "-b", bundle_id});
    if (r)
        r.message += "\nOn macOS 11 and later a kext that is in use (a client connected, or its kext collection "
                     "busy) stays loaded until the next restart: stop kextconfd (sudo launchctl bootout system/" +
                     std::string(KEXTCONF_DAEMON_LABEL) + ") and try again, or restart";
    return r;
}

KextError kext_load_state(const std::string& bundle_id, bool& loaded)
{
    loaded = false;
    auto r = run_kmutil({"showloaded", "--bundle-identifier", bundle_id});
    if (r)
        return r;
    // One line per loaded kext; the identifier is one of its words.
    std::size_t pos = 0;
    while (pos < r.message.size()) {
        std::size_t end = r.message.find('\n', pos);
        if (end == std::string::npos)
            end = r.message.size();
        const std::string line = r.message.substr(pos, end - pos);
        if (line.find(" " + bundle_id + " ") != std::string::npos) {
            loaded = true;
            return {{}, line};
        }
        pos = end + 1;
    }
    return {{}, bundle_id + " is not loaded"};
}

} // namespace kextconf
