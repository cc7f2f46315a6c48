// Internal to the config loader (source_map.cpp, config_loader.cpp,
// config_validator.cpp): collecting one call's diagnostics and the wording
// helpers they share. A DiagnosticSink belongs to one call on one thread; the
// free functions are pure and safe to call from any thread.
#pragma once

#include <kextconf/config_loader.hpp>
#include <kextconf/text_encoding.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kextconf {

// Longest key or string value quoted back in a message.
inline constexpr std::size_t kMaxQuoted = 64;

inline std::string quote_json(std::string_view s)
{
    const nlohmann::json j = std::string(s.substr(0, kMaxQuoted));
    // dump escapes C0 controls; printable also DEL and C1 controls, which a
    // terminal could act on.
    return printable(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) +
           (s.size() > kMaxQuoted ? "..." : "");
}

inline std::string describe(const nlohmann::json& v)
{
    return v.is_string()   ? quote_json(v.get_ref<const std::string&>())
           : v.is_object() ? "an object"
           : v.is_array()  ? "an array"
                           : v.dump();
}

// A profile's value by its plist type: `the string "lots"`, `the integer 5`.
inline std::string describe_plist_value(const nlohmann::json& v)
{
    return v.is_string()           ? "the string " + quote_json(v.get_ref<const std::string&>())
           : v.is_boolean()        ? "the boolean " + v.dump()
           : v.is_number_integer() ? "the integer " + v.dump()
           : v.is_number()         ? "the real number " + v.dump()
           : v.is_object()         ? std::string("a dictionary")
                                   : std::string("an array");
}

inline std::string hint(const std::string& suggestion)
{
    return suggestion.empty() ? "" : "; did you mean " + quote_json(suggestion) + "?";
}

// validate_config with the messages named for their source: key_path ""
// for a file (`tunable "name": ...`, JSON words), else the profile's
// ("Tunables" -> `Tunables.name: ...`, plist words).
std::optional<ValidatedConfig> validate_tunables(const ConfigDocument& doc,
                                                 const std::vector<proto::TunableDesc>& schema,
                                                 const std::string& key_path, std::vector<Diagnostic>& errors);

// Collects one call's diagnostics, keeps at most kMaxDiagnostics, and hands
// them over in source order.
class DiagnosticSink {
public:
    explicit DiagnosticSink(const std::string& file) : file_(file) {}

    bool full() const { return items_.size() >= kMaxDiagnostics; }
    void add(SourcePos at, std::string message)
    {
        if (full())
            ++dropped_;
        else
            items_.push_back({file_, at.line, at.col, std::move(message)});
    }
    // Appends to `out`; true if there was anything to report.
    bool flush(std::vector<Diagnostic>& out)
    {
        std::stable_sort(items_.begin(), items_.end(), [](const auto& a, const auto& b) {
            return std::pair(a.line, a.col) < std::pair(b.line, b.col);
        });
        const bool any = !items_.empty();
        std::move(items_.begin(), items_.end(), std::back_inserter(out));
        if (dropped_ > 0)
            out.push_back({file_, 0, 0, std::to_string(dropped_) + " more errors not shown"});
        items_.clear();
        dropped_ = 0;
        return any;
    }

private:
    const std::string& file_;
    std::vector<Diagnostic> items_;
    std::size_t dropped_ = 0;
};

} // namespace kextconf
