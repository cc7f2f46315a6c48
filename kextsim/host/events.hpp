// kextsim's kern_event service: vendor codes, listeners with their filters
// and 32 KiB receive buffers, and posting.
//
// Threading: any thread; kev_msg_post may come from any kext thread. One
// mutex guards the listener list and is held only for non-blocking sends.
#pragma once

#include "sink.hpp"

#include <kextsim/darwin.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kextsim {

struct Listener {
    std::mutex m;
    std::unique_ptr<RecordSink> sink;
    // A new socket matches nothing until SIOCSKEVFILT (XNU starts the vendor
    // filter at 0xffffffff).
    std::uint32_t vendor = 0xffffffffu;
    std::uint32_t kev_class = 0;
    std::uint32_t subclass = 0;
    std::size_t cc = 0;
    std::uint64_t dropped = 0;
};

class EventService {
public:
    static constexpr std::size_t kRecvSpace = 32 * 1024; // KEV_RECVSPACE
    static constexpr std::uint32_t kFirstVendorCode = 1000;

    int vendor_code(const std::string& vendor, std::uint32_t& code);   // creates on first use
    int lookup_vendor(const std::string& vendor, std::uint32_t& code); // ENOENT until created
    // kev_msg_post: third-party vendors only.
    int post(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass, std::uint32_t code,
             const void* data, std::size_t len);
    // Events kextsim itself posts as Apple (KEV_CTL_REGISTERED...).
    void post_apple(std::uint32_t kev_class, std::uint32_t subclass, std::uint32_t code, const void* data,
                    std::size_t len);

    std::shared_ptr<Listener> add_listener(std::unique_ptr<RecordSink> sink);
    void remove_listener(const std::shared_ptr<Listener>& l);
    static void consumed(const std::shared_ptr<Listener>& l, std::size_t bytes);
    std::uint32_t last_id();
    std::uint64_t total_dropped();

private:
    void deliver(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass, std::uint32_t code,
                 const void* data, std::size_t len);

    std::mutex m_;
    std::map<std::string, std::uint32_t> vendors_;
    std::uint32_t next_vendor_ = kFirstVendorCode;
    std::uint32_t last_id_ = 0;
    std::uint64_t dropped_ = 0; // drops of listeners already closed
    std::vector<std::shared_ptr<Listener>> listeners_;
};

} // namespace kextsim
