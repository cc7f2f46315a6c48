#include "endpoint.hpp"

#include "host.hpp"
#include "kxs_abi.h"

#include <kextsim/darwin.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace kextsim {

namespace {
constexpr int kEnoprotoopt = 42; // Darwin ENOPROTOOPT
constexpr int kEisconn = 56;     // Darwin EISCONN
} // namespace

int ControlEndpoint::connect(std::uint32_t id, std::uint32_t unit, std::unique_ptr<RecordSink> sink,
                             std::uint32_t& assigned)
{
    if (unit_)
        return kEisconn;
    auto& reg = host().controls;
    ControlRef ref;
    std::shared_ptr<Unit> u;
    if (int err = reg.reserve_unit(id, unit, uid_ == 0, stream_, ref, u); err != 0)
        return err;
    // The sink exists before ctl_connect runs: a kext may enqueue from inside
    // its connect callback.
    reg.activate(u, std::move(sink), nullptr);
    void* unitinfo = nullptr;
    const int err = kxs_kern_ctl_connect(ref.cookie, ref.handle, ref.id, u->unit, &unitinfo);
    if (err != 0) {
        // XNU calls ctl_disconnect after a failed ctl_connect, with the same unitinfo.
        kxs_kern_ctl_disconnect(ref.cookie, ref.handle, u->unit, unitinfo);
        reg.release_unit(ref, u);
        return err;
    }
    {
        std::lock_guard lock(u->m);
        u->unitinfo = unitinfo;
    }
    ctl_ = ref;
    unit_ = u;
    assigned = u->unit;
    return 0;
}

// Level SOL_SOCKET is the generic socket layer's, not the kext's. Buffer
// sizes are reset from ctl_recvsize/ctl_sendsize at connect, as in XNU; after
// connect SO_RCVBUF changes the space ctl_enqueuedata sees (the easy way to
// exercise a kext's ENOBUFS path).
int ControlEndpoint::socket_option(int opt, bool set, std::vector<std::uint8_t>& buf, std::size_t& len)
{
    if (opt != kSoRcvbuf && opt != kSoSndbuf)
        return kEnoprotoopt;
    std::int32_t v = 0;
    if (!set) {
        if (opt == kSoSndbuf)
            v = static_cast<std::int32_t>(ctl_.sendsize);
        else if (unit_)
            v = static_cast<std::int32_t>(ControlRegistry::hiwat(unit_));
        len = std::min(buf.size(), sizeof v);
        std::memcpy(buf.data(), &v, len);
        return 0;
    }
    if (buf.size() != sizeof v)
        return KXS_EINVAL;
    std::memcpy(&v, buf.data(), sizeof v);
    if (v <= 0)
        return KXS_EINVAL;
    if (opt == kSoRcvbuf && unit_)
        ControlRegistry::set_hiwat(unit_, static_cast<std::size_t>(v));
    else if (opt == kSoSndbuf && unit_)
        ctl_.sendsize = static_cast<std::uint32_t>(std::min<std::int32_t>(v, ControlRegistry::kMaxSockBuf));
    return 0;
}

int ControlEndpoint::setopt(int level, int opt, const std::vector<std::uint8_t>& value)
{
    if (level == kSolSocket) {
        std::vector<std::uint8_t> buf(value);
        std::size_t len = 0;
        return socket_option(opt, true, buf, len);
    }
    if (level != kSysprotoControl)
        return KXS_EINVAL;
    if (!unit_)
        return KXS_ENOTCONN;
    // XNU hands the kext a kernel copy of the option, or NULL for length 0.
    std::vector<std::uint8_t> data(value);
    return kxs_kern_ctl_setopt(ctl_.cookie, ctl_.handle, unit_->unit, unit_->unitinfo, opt,
                               data.empty() ? nullptr : data.data(), data.size());
}

int ControlEndpoint::getopt(int level, int opt, std::vector<std::uint8_t>& buf, std::size_t& len)
{
    if (level == kSolSocket)
        return socket_option(opt, false, buf, len);
    if (level != kSysprotoControl)
        return KXS_EINVAL;
    if (!unit_)
        return KXS_ENOTCONN;
    const std::size_t bufsize = buf.size();
    if (bufsize > kMaxOptBuffer)
        return KXS_EINVAL;
    len = bufsize;
    const int err = kxs_kern_ctl_getopt(ctl_.cookie, ctl_.handle, unit_->unit, unit_->unitinfo, opt,
                                        bufsize ? buf.data() : nullptr, &len);
    if (err != 0)
        return err;
    if (bufsize != 0 && len > bufsize) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "ctl_getopt for option %d returned length %zu for a %zu-byte buffer", opt, len,
                      bufsize);
        kxs_host_panic(msg); // the real kernel panics here too
    }
    return 0;
}

void ControlEndpoint::disconnect()
{
    if (!unit_)
        return;
    void* unitinfo;
    {
        std::lock_guard lock(unit_->m);
        unitinfo = unit_->unitinfo;
    }
    kxs_kern_ctl_disconnect(ctl_.cookie, ctl_.handle, unit_->unit, unitinfo);
    host().controls.release_unit(ctl_, unit_);
    unit_.reset();
}

void ControlEndpoint::consumed(std::size_t bytes)
{
    if (unit_)
        ControlRegistry::consumed(unit_, bytes);
}

EventEndpoint::EventEndpoint(std::unique_ptr<RecordSink> sink) : listener_(host().events.add_listener(std::move(sink)))
{
}

EventEndpoint::~EventEndpoint()
{
    host().events.remove_listener(listener_);
}

void EventEndpoint::set_filter(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass)
{
    std::lock_guard lock(listener_->m);
    listener_->vendor = vendor;
    listener_->kev_class = kev_class;
    listener_->subclass = subclass;
}

void EventEndpoint::filter(std::uint32_t& vendor, std::uint32_t& kev_class, std::uint32_t& subclass)
{
    std::lock_guard lock(listener_->m);
    vendor = listener_->vendor;
    kev_class = listener_->kev_class;
    subclass = listener_->subclass;
}

void EventEndpoint::consumed(std::size_t bytes)
{
    EventService::consumed(listener_, bytes);
}

} // namespace kextsim
