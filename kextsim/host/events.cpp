#include "events.hpp"

#include "host.hpp"
#include "kxs_abi.h"

#include <algorithm>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace kextsim {

namespace {
constexpr std::size_t kHeaderSize = 24;             // KEV_MSG_HEADER_SIZE
constexpr std::size_t kMaxData = 224 - kHeaderSize; // MLEN minus the header

bool matches(const Listener& l, std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass)
{
    if (l.vendor == 0) // KEV_ANY_VENDOR
        return true;
    if (l.vendor != vendor)
        return false;
    if (l.kev_class == 0) // KEV_ANY_CLASS: XNU looks no further, not even at the subclass
        return true;
    if (l.kev_class != kev_class)
        return false;
    return l.subclass == 0 || l.subclass == subclass;
}
} // namespace

int EventService::vendor_code(const std::string& vendor, std::uint32_t& code)
{
    std::lock_guard lock(m_);
    auto [it, inserted] = vendors_.try_emplace(vendor, next_vendor_);
    if (inserted)
        ++next_vendor_;
    code = it->second;
    return 0;
}

int EventService::lookup_vendor(const std::string& vendor, std::uint32_t& code)
{
    std::lock_guard lock(m_);
    auto it = vendors_.find(vendor);
    if (it == vendors_.end())
        return KXS_ENOENT;
    code = it->second;
    return 0;
}

int EventService::post(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass, std::uint32_t code,
                       const void* data, std::size_t len)
{
    {
        std::lock_guard lock(m_);
        if (vendor < kFirstVendorCode || vendor >= next_vendor_)
            return KXS_EINVAL;
    }
    if (len > kMaxData)
        return KXS_EMSGSIZE;
    if (host().faults.should_fail(FaultSite::EventPost))
        return KXS_ENOMEM;
    deliver(vendor, kev_class, subclass, code, data, len);
    return 0;
}

void EventService::post_apple(std::uint32_t kev_class, std::uint32_t subclass, std::uint32_t code, const void* data,
                              std::size_t len)
{
    deliver(kKevVendorApple, kev_class, subclass, code, data, len);
}

void EventService::deliver(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass, std::uint32_t code,
                           const void* data, std::size_t len)
{
    std::uint8_t msg[kHeaderSize + kMaxData];
    const std::uint32_t total = static_cast<std::uint32_t>(kHeaderSize + len);
    std::lock_guard lock(m_);
    const std::uint32_t id = ++last_id_;
    const std::uint32_t hdr[6] = {total, vendor, kev_class, subclass, id, code};
    std::memcpy(msg, hdr, sizeof hdr);
    if (len)
        std::memcpy(msg + kHeaderSize, data, len);
    for (const auto& l : listeners_) {
        std::lock_guard llock(l->m);
        if (!matches(*l, vendor, kev_class, subclass))
            continue;
        // XNU drops silently for a listener whose buffer is full.
        if (l->cc + total > kRecvSpace || !l->sink->deliver(msg, total, true)) {
            ++l->dropped;
            continue;
        }
        l->cc += total;
    }
}

std::shared_ptr<Listener> EventService::add_listener(std::unique_ptr<RecordSink> sink)
{
    auto l = std::make_shared<Listener>();
    l->sink = std::move(sink);
    std::lock_guard lock(m_);
    listeners_.push_back(l);
    return l;
}

void EventService::remove_listener(const std::shared_ptr<Listener>& l)
{
    std::lock_guard lock(m_);
    listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
    std::lock_guard llock(l->m);
    dropped_ += l->dropped;
    l->sink.reset();
}

void EventService::consumed(const std::shared_ptr<Listener>& l, std::size_t bytes)
{
    std::lock_guard lock(l->m);
    l->cc -= std::min(l->cc, bytes);
}

std::uint32_t EventService::last_id()
{
    std::lock_guard lock(m_);
    return last_id_;
}

std::uint64_t EventService::total_dropped()
{
    std::lock_guard lock(m_);
    std::uint64_t n = dropped_;
    for (const auto& l : listeners_) {
        std::lock_guard llock(l->m);
        n += l->dropped;
    }
    return n;
}

} // namespace kextsim

extern "C" int32_t kxs_host_kev_vendor_code(const char* vendor, uint32_t* code)
{
    return kextsim::host().events.vendor_code(vendor, *code);
}

extern "C" int32_t kxs_host_kev_post(uint32_t vendor, uint32_t kev_class, uint32_t subclass, uint32_t code,
                                     const void* data, size_t len)
{
    return kextsim::host().events.post(vendor, kev_class, subclass, code, data, len);
}
