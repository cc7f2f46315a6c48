// The kext's kern_events as kextconfctl shows them (`events`, `top`): a
// listener that finds the kext's vendor code (also once the kext registers
// later), decodes each KC_EV_* payload with proto::decode_event, and turns
// sequence gaps into "dropped" items. Single-threaded.
#pragma once

#include <kextconf/kernel_link.hpp>

#include <kextconf/codec.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace kextconf {

struct StreamItem {
    enum class Kind {
        Event,        // a decoded kext event in `event`
        Dropped,      // `lost` events never arrived (a sequence gap)
        Registered,   // a kernel control registered (the kext may have loaded)
        Deregistered, // a kernel control went away (the kext may be unloading)
        Malformed,    // an event of the kext's class that did not decode
    };
    Kind kind = Kind::Event;
    proto::Event event;
    std::uint32_t lost = 0;
    std::uint32_t code = 0; // Malformed: its event code
};

class KextEventStream {
public:
    // Opens the sockets; nullptr with ec on failure (ECONNREFUSED: no kextsim).
    static std::unique_ptr<KextEventStream> open(const std::string& bundle_id, std::error_code& ec);

    // Descriptors to poll for readability.
    std::vector<int> fds() const;
    // Reads everything waiting, without blocking. ec: the link went away.
    std::vector<StreamItem> drain(std::error_code& ec);
    // True once the kext's vendor code is known (events can arrive).
    bool subscribed() const { return vendor_code_ != 0; }

private:
    KextEventStream() = default;
    void try_subscribe();
    void add_event(const KernEvent& e, std::vector<StreamItem>& out);

    std::string bundle_id_;
    std::unique_ptr<EventSocket> kext_;
    std::unique_ptr<EventSocket> ctl_;
    std::uint32_t vendor_code_ = 0; // filter: vendor, KC_EVENT_CLASS, any subclass
    std::uint32_t load_id_ = 0;
    std::uint32_t last_seq_ = 0;
};

// "applied: generation 3, hash 1c0ffee..., 2 changed", without seq.
std::string describe_event(const proto::Event& e);
// One line for `events`: "seq 7 (load 12) applied: ...", "dropped: 3 events", ...
std::string format_item(const StreamItem& item);
// The same as JSON (one object per line with --json).
nlohmann::json item_json(const StreamItem& item);

} // namespace kextconf
