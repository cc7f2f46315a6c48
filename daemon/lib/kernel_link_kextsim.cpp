// Kernel link over kextsim (Linux and other hosts without PF_SYSTEM).
#include <kextconf/kernel_link.hpp>

#include <kextsim/client.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <sys/socket.h>

namespace kextconf {

// kernel_link.hpp names Apple's kern_event coordinates for every platform;
// here they must be the ones kextsim serves (kextsim/darwin.hpp).
static_assert(kKevVendorApple == kextsim::kKevVendorApple && kKevSystemClass == kextsim::kKevSystemClass &&
              kKevCtlSubclass == kextsim::kKevCtlSubclass && kKevCtlRegistered == kextsim::kKevCtlRegistered &&
              kKevCtlDeregistered == kextsim::kKevCtlDeregistered);

struct ControlSocket::Impl {
    std::unique_ptr<kextsim::SystemSocket> sock;
};

struct EventSocket::Impl {
    std::unique_ptr<kextsim::SystemSocket> sock;
    // Records taken from the socket by one recv_waiting and not read yet.
    std::vector<std::vector<std::uint8_t>> waiting;
    std::size_t next = 0;
};

namespace {
std::error_code last_error()
{
    return {errno, std::generic_category()};
}
} // namespace

std::string kernel_link_description()
{
    return "kextsim at " + kextsim::runtime_root();
}

ControlSocket::ControlSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl))
{
}
ControlSocket::ControlSocket() = default;
ControlSocket::~ControlSocket() = default;

std::unique_ptr<ControlSocket> ControlSocket::connect(const std::string& name, std::error_code& ec)
{
    auto impl = std::make_unique<Impl>();
    impl->sock = kextsim::SystemSocket::open(kextsim::kSockDgram, kextsim::kSysprotoControl);
    if (!impl->sock) {
        ec = last_error();
        return nullptr;
    }
    kextsim::ctl_info info{};
    if (name.size() >= sizeof info.ctl_name) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return nullptr;
    }
    std::memcpy(info.ctl_name, name.c_str(), name.size());
    if (impl->sock->ioctl(kextsim::kCtlIocGInfo, &info) != 0) {
        ec = last_error();
        return nullptr;
    }
    kextsim::sockaddr_ctl addr{};
    addr.sc_len = sizeof addr;
    addr.sc_family = kextsim::kPfSystem;
    addr.ss_sysaddr = kextsim::kAfSysControl;
    addr.sc_id = info.ctl_id;
    addr.sc_unit = 0;
    if (impl->sock->connect(&addr, sizeof addr) != 0) {
        ec = last_error();
        return nullptr;
    }
    ec.clear();
    return std::unique_ptr<ControlSocket>(new ControlSocket(std::move(impl)));
}

std::error_code ControlSocket::setopt(int opt, proto::ByteView value)
{
    if (impl_->sock->setsockopt(kextsim::kSysprotoControl, opt, value.data(), value.size()) != 0)
        return last_error();
    return {};
}

std::error_code ControlSocket::getopt(int opt, proto::ByteView in, std::size_t out_size, proto::Bytes& out)
{
    out.assign(std::max(out_size, in.size()), 0);
    std::copy(in.begin(), in.end(), out.begin());
    std::size_t len = out.size();
    if (impl_->sock->getsockopt(kextsim::kSysprotoControl, opt, out.empty() ? nullptr : out.data(), &len) != 0)
        return last_error();
    out.resize(std::min(len, out.size()));
    return {};
}

EventSocket::EventSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl))
{
}
EventSocket::~EventSocket() = default;

std::unique_ptr<EventSocket> EventSocket::open(std::error_code& ec)
{
    auto impl = std::make_unique<Impl>();
    impl->sock = kextsim::SystemSocket::open(kextsim::kSockRaw, kextsim::kSysprotoEvent);
    if (!impl->sock) {
        ec = last_error();
        return nullptr;
    }
    ec.clear();
    return std::unique_ptr<EventSocket>(new EventSocket(std::move(impl)));
}

std::error_code EventSocket::set_filter(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass)
{
    kextsim::kev_request req{vendor, kev_class, subclass};
    if (impl_->sock->ioctl(kextsim::kSiocSKevFilt, &req) != 0)
        return last_error();
    return {};
}

std::error_code EventSocket::vendor_code(const std::string& vendor, std::uint32_t& code)
{
    kextsim::kev_vendor_code kv{};
    if (vendor.size() >= sizeof kv.vendor_string)
        return std::make_error_code(std::errc::invalid_argument);
    std::memcpy(kv.vendor_string, vendor.c_str(), vendor.size());
    if (impl_->sock->ioctl(kextsim::kSiocGKevVendor, &kv) != 0)
        return last_error();
    code = kv.vendor_code;
    return {};
}

int EventSocket::native_handle() const
{
    return impl_->sock->readable_fd();
}

std::optional<KernEvent> EventSocket::read(std::error_code& ec)
{
    ec.clear();
    auto& im = *impl_;
    kextsim::kern_event_msg_header h{};
    const std::vector<std::uint8_t>* rec = nullptr;
    while (!rec) {
        if (im.next == im.waiting.size()) {
            // Every event waiting, in one exchange with the host (not one
            // per event): our own commit of 256 tunables leaves 257 of them.
            im.waiting.clear();
            im.next = 0;
            if (im.sock->recv_waiting(im.waiting, SIZE_MAX) < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    ec = last_error();
                return std::nullopt;
            }
        }
        rec = &im.waiting[im.next++];
        if (rec->size() < sizeof h)
            rec = nullptr; // malformed record: skip it
    }
    std::memcpy(&h, rec->data(), sizeof h);
    KernEvent e{h.vendor_code, h.kev_class, h.kev_subclass, h.id, h.event_code, {}};
    // As a recv into 1024 bytes would: a longer record is truncated.
    const std::size_t total = std::min<std::size_t>({h.total_size, rec->size(), 1024});
    if (total > sizeof h)
        e.data.assign(rec->begin() + sizeof h, rec->begin() + static_cast<std::ptrdiff_t>(total));
    return e;
}

namespace {
KextError from_host(const kextsim::AdminResult& r)
{
    return {r.error ? std::error_code(r.error, std::generic_category()) : std::error_code(), r.message};
}
} // namespace

KextError load_kext_bundle(const std::string& bundle_path)
{
    return from_host(kextsim::load_kext(bundle_path));
}

KextError unload_kext_bundle(const std::string& bundle_id)
{
    return from_host(kextsim::unload_kext(bundle_id));
}

KextError kext_load_state(const std::string& bundle_id, bool& loaded)
{
    loaded = false;
    const auto r = kextsim::show_loaded();
    if (r.error)
        return from_host(r);
    // "Index Name (Version) Path", one kext a line.
    std::istringstream lines(r.message);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string index, name;
        if (words >> index >> name && name == bundle_id) {
            loaded = true;
            return {{}, line};
        }
    }
    return {{}, bundle_id + " is not loaded in " + kernel_link_description()};
}

} // namespace kextconf
