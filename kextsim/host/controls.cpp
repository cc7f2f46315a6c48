#include "controls.hpp"

#include <kextsim/darwin.hpp>

#include "events.hpp"
#include "host.hpp"
#include "kxs_abi.h"

#include <algorithm>
#include <cerrno>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

namespace kextsim {

namespace {
// struct ctl_event_data {ctl_id, ctl_unit = 0} under Apple's vendor code,
// KEV_SYSTEM_CLASS, KEV_CTL_SUBCLASS (xnu-kpi.md section 1).
void post_ctl_event(std::uint32_t code, std::uint32_t id)
{
    const std::uint32_t data[2] = {id, 0};
    host().events.post_apple(kKevSystemClass, kKevCtlSubclass, code, data, sizeof data);
}
} // namespace

int ControlRegistry::register_control(const std::string& name, std::uint32_t flags, std::uint32_t& id,
                                      std::uint32_t /*unit*/, std::uint32_t& sendsize, std::uint32_t& recvsize,
                                      void* cookie, int owner, std::uint64_t& handle)
{
    {
        std::lock_guard lock(m_);
        for (const auto& [cid, c] : controls_)
            if (c.name == name)
                return KXS_EEXIST;
        if (!(flags & kCtlFlagRegIdUnit)) {
            // XNU: the id of the last control in its (id-ordered) list plus
            // one, 1 for an empty list; a freed top id is reused.
            id = controls_.empty() ? 1 : controls_.rbegin()->first + 1;
        } else if (controls_.count(id)) {
            return KXS_EEXIST;
        }
        Control c;
        c.id = id;
        c.handle = (static_cast<std::uint64_t>(++generation_) << 32) | id;
        c.name = name;
        c.flags = flags;
        c.sendsize = sendsize ? sendsize : kDefaultSendSize;
        c.recvsize = recvsize_override_ ? recvsize_override_ : recvsize ? recvsize : kDefaultRecvSize;
        c.cookie = cookie;
        c.owner = owner;
        sendsize = c.sendsize;
        recvsize = c.recvsize;
        handle = c.handle;
        controls_.emplace(id, std::move(c));
    }
    post_ctl_event(kKevCtlRegistered, id);
    return 0;
}

int ControlRegistry::deregister(std::uint64_t handle)
{
    void* cookie = nullptr;
    std::uint32_t id = 0;
    {
        std::lock_guard lock(m_);
        auto it = controls_.find(static_cast<std::uint32_t>(handle));
        if (it == controls_.end() || it->second.handle != handle)
            return KXS_EINVAL;
        // Units stay listed until their ctl_disconnect returned, so this is
        // also EBUSY from inside ctl_disconnect, as in XNU.
        if (!it->second.units.empty())
            return KXS_EBUSY;
        cookie = it->second.cookie;
        id = it->second.id;
        controls_.erase(it);
    }
    kxs_kern_ctl_release(cookie);
    post_ctl_event(kKevCtlDeregistered, id);
    return 0;
}

std::shared_ptr<Unit> ControlRegistry::find_unit(std::uint64_t handle, std::uint32_t unit)
{
    std::lock_guard lock(m_);
    auto it = controls_.find(static_cast<std::uint32_t>(handle));
    if (it == controls_.end() || it->second.handle != handle)
        return nullptr;
    auto u = it->second.units.find(unit);
    return u == it->second.units.end() ? nullptr : u->second;
}

int ControlRegistry::enqueue(std::uint64_t handle, std::uint32_t unit, const void* data, std::size_t len,
                             std::uint32_t flags)
{
    auto u = find_unit(handle, unit);
    if (!u)
        return KXS_EINVAL;
    std::lock_guard lock(u->m);
    if (!u->connected)
        return KXS_EINVAL;
    // SOCK_DGRAM controls: space is hiwat - cc, in bytes.
    if (len > u->hiwat - std::min(u->cc, u->hiwat))
        return KXS_ENOBUFS;
    if (host().faults.should_fail(FaultSite::Enobufs))
        return KXS_ENOBUFS;
    if (host().faults.should_fail(FaultSite::Enqueue))
        return KXS_ENOMEM;
    // One message per enqueue; the reader merges what is waiting up to EOR
    // into a record, as XNU's sbappend does with the socket buffer.
    if (!u->sink->deliver(data, len, (flags & kCtlDataEor) != 0))
        return KXS_ENOBUFS; // the transport itself is full: report a full buffer
    u->cc += len;
    return 0;
}

int ControlRegistry::space(std::uint64_t handle, std::uint32_t unit, std::size_t& out)
{
    auto u = find_unit(handle, unit);
    if (!u)
        return KXS_EINVAL;
    std::lock_guard lock(u->m);
    out = u->hiwat - std::min(u->cc, u->hiwat);
    return 0;
}

int ControlRegistry::find_by_name(const std::string& name, std::uint32_t& id)
{
    if (name.empty() || name.size() >= 96)
        return KXS_EINVAL;
    std::lock_guard lock(m_);
    for (const auto& [cid, c] : controls_) {
        if (c.name == name) {
            id = cid;
            return 0;
        }
    }
    return KXS_ENOENT;
}

std::size_t ControlRegistry::count()
{
    std::lock_guard lock(m_);
    return controls_.size();
}

int ControlRegistry::reserve_unit(std::uint32_t id, std::uint32_t requested, bool is_root, bool stream, ControlRef& ref,
                                  std::shared_ptr<Unit>& unit)
{
    std::lock_guard lock(m_);
    auto it = controls_.find(id);
    if (it == controls_.end())
        return KXS_ENOENT;
    Control& c = it->second;
    if (static_cast<bool>(c.flags & kCtlFlagRegSockStream) != stream)
        return KXS_EPROTOTYPE;
    if ((c.flags & kCtlFlagPrivileged) && !is_root)
        return KXS_EPERM;
    std::uint32_t u = requested;
    if (u == 0) {
        for (u = 1; u <= kMaxUnit && c.units.count(u); ++u) {
        }
        if (u > kMaxUnit)
            return KXS_EBUSY;
    } else if (c.units.count(u)) {
        return KXS_EBUSY;
    }
    unit = std::make_shared<Unit>();
    unit->unit = u;
    unit->hiwat = c.recvsize;
    c.units.emplace(u, unit);
    ref = ControlRef{c.handle, c.id, c.cookie, c.flags, c.sendsize};
    return 0;
}

void ControlRegistry::activate(const std::shared_ptr<Unit>& unit, std::unique_ptr<RecordSink> sink, void* unitinfo)
{
    std::lock_guard lock(unit->m);
    unit->sink = std::move(sink);
    unit->unitinfo = unitinfo;
    unit->connected = true;
}

void ControlRegistry::release_unit(const ControlRef& ref, const std::shared_ptr<Unit>& unit)
{
    {
        std::lock_guard lock(m_);
        auto it = controls_.find(ref.id);
        if (it != controls_.end() && it->second.handle == ref.handle)
            it->second.units.erase(unit->unit);
    }
    std::lock_guard lock(unit->m);
    unit->connected = false;
    unit->sink.reset();
}

void ControlRegistry::consumed(const std::shared_ptr<Unit>& unit, std::size_t bytes)
{
    std::lock_guard lock(unit->m);
    unit->cc -= std::min(unit->cc, bytes);
}

std::size_t ControlRegistry::hiwat(const std::shared_ptr<Unit>& unit)
{
    std::lock_guard lock(unit->m);
    return unit->hiwat;
}

void ControlRegistry::set_hiwat(const std::shared_ptr<Unit>& unit, std::size_t bytes)
{
    std::lock_guard lock(unit->m);
    unit->hiwat = std::min<std::size_t>(bytes, kMaxSockBuf);
}

std::vector<std::string> ControlRegistry::owned_by(int owner)
{
    std::lock_guard lock(m_);
    std::vector<std::string> names;
    for (const auto& [id, c] : controls_)
        if (c.owner == owner)
            names.push_back(c.name);
    return names;
}

std::string ControlRegistry::describe()
{
    std::lock_guard lock(m_);
    std::ostringstream out;
    for (const auto& [id, c] : controls_)
        out << "control " << id << ' ' << c.name << " flags=" << c.flags << " units=" << c.units.size()
            << " recvsize=" << c.recvsize << '\n';
    return out.str();
}

} // namespace kextsim

extern "C" int32_t kxs_host_ctl_register(struct kxs_ctl_params* p, uint64_t* handle)
{
    return kextsim::host().controls.register_control(p->name, p->flags, p->id, p->unit, p->sendsize, p->recvsize,
                                                     p->kernel_cookie, kextsim::current_kext(), *handle);
}

extern "C" int32_t kxs_host_ctl_deregister(uint64_t handle)
{
    return kextsim::host().controls.deregister(handle);
}

extern "C" int32_t kxs_host_ctl_enqueue(uint64_t handle, uint32_t unit, const void* data, size_t len, uint32_t flags)
{
    return kextsim::host().controls.enqueue(handle, unit, data, len, flags);
}

extern "C" int32_t kxs_host_ctl_space(uint64_t handle, uint32_t unit, size_t* space)
{
    return kextsim::host().controls.space(handle, unit, *space);
}
