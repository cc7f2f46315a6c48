// libFuzzer target: the daemon's config loader and validator. Bytes in,
// diagnostics or a validated configuration out; never a crash or a hang, and
// never a raw byte of the input in a message (it goes to a terminal).
#include <kextconf/config_loader.hpp>
#include <kextconf/text_encoding.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {
std::vector<kextconf::proto::TunableDesc> schema()
{
    using kextconf::proto::TunableDesc;
    using kextconf::proto::Value;
    std::vector<TunableDesc> s(5);
    const char* names[] = {"enabled", "max_clients", "log_level", "sample_interval_ms", "label"};
    const std::uint32_t types[] = {KC_TYPE_BOOL, KC_TYPE_UINT64, KC_TYPE_ENUM, KC_TYPE_INT64, KC_TYPE_STRING};
    for (std::uint32_t i = 0; i < 5; ++i) {
        s[i].index = i;
        s[i].type = types[i];
        s[i].name = names[i];
        s[i].def.type = types[i];
    }
    s[1].min.u = 1;
    s[1].max.u = 1024;
    s[2].enum_names = {"error", "warn", "info", "debug"};
    s[2].max.i = 3;
    s[3].min.i = 10;
    s[3].max.i = 60000;
    s[4].max_count = 63;
    return s;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const auto kSchema = schema();
    std::vector<kextconf::Diagnostic> errors;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto doc = kextconf::parse_config(text, "fuzz.json", errors);
    if (doc) {
        auto v = kextconf::validate_config(*doc, kSchema, errors);
        if (v && !errors.empty())
            __builtin_trap(); // a validated config never comes with errors
    }
    for (const auto& d : errors)
        if (kextconf::printable(d.str()) != d.str())
            __builtin_trap();
    return 0;
}
