// What the window shows of the kext, read through its query control (open
// to any user): hello, state, counters, the tunable table and every value.
// Plain C++ over daemon/'s library; the window reads a fresh snapshot when
// an event says something changed.
#pragma once

#include <kextconf/kext_client.hpp>

#include <kextconf/codec.hpp>

#include <optional>
#include <string>
#include <vector>

namespace kextconf::gui {

struct KextSnapshot {
    bool loaded = false;
    std::string error; // why it could not be read (not loaded, no host, ...)
    kc_hello_reply hello{};
    kc_state state{};
    std::optional<kc_counters> counters; // absent if the kext keeps none
    std::vector<proto::TunableDesc> schema;
    std::vector<proto::Value> values; // schema order
};

// Reads everything through "<bundle_id>.query".
KextSnapshot read_kext(const std::string& bundle_id);

// "[1, 4096]", "up to 64 bytes", "up to 1000 entries, each in [1, 65535]";
// "" when the type has no bounds.
std::string bounds_text(const proto::TunableDesc& d);
// "bool", "int64", "enum", ...
const char* type_name(std::uint32_t type);

} // namespace kextconf::gui
