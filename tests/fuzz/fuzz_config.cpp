// libFuzzer target: the daemon's config loader and validator. Bytes in,
// diagnostics or a validated configuration out; never a crash or a hang, and
// never a raw byte of the input in a message (it goes to a terminal).
// Two input modes, by the first bytes: a property list (XML "<..." or binary
// "bplist") goes through the managed-preferences reader (plist_reader.hpp,
// managed_prefs.hpp), anything else through the JSON config file's.
#include <kextconf/config_loader.hpp>
#include <kextconf/managed_prefs.hpp>
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

namespace {
bool is_plist(std::string_view text)
{
    return text.starts_with("bplist") || text.starts_with("<");
}

void load_plist(std::string_view text, const std::vector<kextconf::proto::TunableDesc>& schema,
                std::vector<kextconf::Diagnostic>& errors)
{
    auto prefs = kextconf::parse_managed_prefs(text, "fuzz.plist", errors);
    if (prefs && !errors.empty())
        __builtin_trap(); // a parsed profile never comes with errors
    if (prefs) {
        auto v = kextconf::validate_managed(*prefs, schema, errors);
        if (v && !errors.empty())
            __builtin_trap();
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const auto kSchema = schema();
    std::vector<kextconf::Diagnostic> errors;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (is_plist(text)) {
        load_plist(text, kSchema, errors);
    } else if (auto doc = kextconf::parse_config(text, "fuzz.json", errors)) {
        auto v = kextconf::validate_config(*doc, kSchema, errors);
        if (v && !errors.empty())
            __builtin_trap(); // a validated config never comes with errors
    }
    for (const auto& d : errors)
        if (kextconf::printable(d.str()) != d.str())
            __builtin_trap();
    return 0;
}
