// Reading and checking a managed-preferences payload (managed_prefs.hpp).
#include <kextconf/managed_prefs.hpp>

#include "diagnostic_sink.hpp"

#include <kextconf/plist_reader.hpp>

namespace kextconf {

namespace {

constexpr const char* kKextKey = "Kext";
constexpr const char* kTunablesKey = "Tunables";

} // namespace

std::string managed_prefs_path(const std::string& dir, const std::string& domain)
{
    return dir + "/" + domain + ".plist";
}

std::optional<ManagedPrefs> parse_managed_prefs(std::string_view bytes, const std::string& path,
                                                std::vector<Diagnostic>& errors, const std::string& domain)
{
    DiagnosticSink sink(domain);
    std::string error;
    const auto root = parse_plist(bytes, error);
    if (!root) {
        sink.add({}, path + " is not a usable property list: " + printable(error));
    } else if (!root->is_object()) {
        sink.add({}, "the payload must be a dictionary (with Kext and Tunables), got " + describe_plist_value(*root));
    } else {
        ManagedPrefs prefs{domain, path, "", nlohmann::json::object()};
        for (auto it = root->begin(); it != root->end(); ++it) {
            const nlohmann::json& v = it.value();
            if (it.key() == kKextKey && v.is_string() && !v.get_ref<const std::string&>().empty())
                prefs.kext = v.get<std::string>();
            else if (it.key() == kKextKey)
                sink.add({}, std::string(kKextKey) + ": expected the kext's bundle id (a non-empty string), got " +
                                 describe_plist_value(v));
            else if (it.key() == kTunablesKey && v.is_object())
                prefs.tunables = v;
            else if (it.key() == kTunablesKey)
                sink.add({}, std::string(kTunablesKey) + ": expected a dictionary (tunable -> value), got " +
                                 describe_plist_value(v));
            else
                sink.add({}, printable(it.key()) + ": unknown key (the payload's keys are Kext and Tunables)" +
                                 hint(suggest(it.key(), {kKextKey, kTunablesKey})));
        }
        if (!sink.flush(errors))
            return prefs;
        return std::nullopt;
    }
    sink.flush(errors);
    return std::nullopt;
}

std::optional<ValidatedConfig> validate_managed(const ManagedPrefs& prefs,
                                                const std::vector<proto::TunableDesc>& schema,
                                                std::vector<Diagnostic>& errors)
{
    const ConfigDocument doc{prefs.domain, prefs.kext, prefs.tunables, {}};
    return validate_tunables(doc, schema, kTunablesKey, errors);
}

} // namespace kextconf
