// The admin protocol's replies as JSON (admin_protocol.hpp): one writer (the
// daemon) and one reader (kextconfctl), both through these functions.
#include <kextconf/admin_protocol.hpp>

#include <kextconf/values.hpp>

#include <array>
#include <cstdlib>
#include <string_view>

namespace kextconf::admin {

namespace {

using nlohmann::json;

constexpr std::array<const char*, 3> kFileStates{"missing", "good", "bad"};
constexpr std::array<const char*, 3> kApplying{"file", "saved-copy", "none"};
constexpr std::array<const char*, 4> kValueSources{"default", "file", "managed", "transient"};
constexpr std::array<const char*, 5> kDriftStates{"in-sync", "drifted", "kext-not-loaded", "not-applied", "unknown"};

// The enum value named `name`, or `fallback` for a name this version does not know.
template <typename E, std::size_t N>
E enum_from(const json& j, const char* key, const std::array<const char*, N>& names, E fallback)
{
    const std::string name = j.value(key, std::string());
    for (std::size_t i = 0; i < N; ++i)
        if (name == names[i])
            return static_cast<E>(i);
    return fallback;
}

json string_or_null(const std::string& s)
{
    return s.empty() ? json(nullptr) : json(s);
}

std::string string_of(const json& j, const char* key)
{
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::uint64_t hash_of(const json& j, const char* key)
{
    return std::strtoull(string_of(j, key).c_str(), nullptr, 16);
}

json counters_json(const Counters& c)
{
    return {{"applies", c.applies},   {"apply_failures", c.apply_failures},
            {"reloads", c.reloads},   {"events", c.events},
            {"seq_gaps", c.seq_gaps}, {"rereads", c.rereads}};
}

json kext_json(const KextInfo& k)
{
    json out{{"bundle_id", string_or_null(k.bundle_id)}, {"loaded", k.loaded}};
    if (k.loaded)
        out.update({{"version", k.version},
                    {"load_id", k.load_id},
                    {"generation", k.generation},
                    {"config_hash", format_config_hash(k.config_hash)},
                    {"event_seq", k.event_seq}});
    if (!k.error.empty())
        out["error"] = k.error;
    return out;
}

KextInfo kext_from(const json& j)
{
    return {string_of(j, "bundle_id"),   j.value("loaded", false),  string_of(j, "version"),  j.value("load_id", 0u),
            j.value("generation", 0ull), hash_of(j, "config_hash"), j.value("event_seq", 0u), string_of(j, "error")};
}

json managed_json(const std::optional<ManagedInfo>& m)
{
    if (!m)
        return nullptr;
    return {{"domain", m->domain},
            {"path", m->path},
            {"state", to_string(m->state)},
            {"errors", m->errors},
            {"changed_at", string_or_null(m->changed_at)},
            {"read_at", string_or_null(m->read_at)},
            {"tunables", m->tunables}};
}

std::optional<ManagedInfo> managed_from(const json& j)
{
    const auto it = j.find("managed");
    if (it == j.end() || !it->is_object())
        return std::nullopt;
    return ManagedInfo{string_of(*it, "domain"),
                       string_of(*it, "path"),
                       enum_from(*it, "state", kFileStates, FileState::Missing),
                       it->value("errors", std::vector<std::string>{}),
                       string_of(*it, "changed_at"),
                       string_of(*it, "read_at"),
                       it->value("tunables", std::vector<std::string>{})};
}

} // namespace

std::string managed_refusal(const std::string& tunable, const std::string& domain)
{
    return "tunable \"" + tunable + "\" is managed by your organisation's profile (" + domain +
           "); change it in the profile, or remove the profile";
}

const char* to_string(ValueSource s)
{
    return kValueSources[static_cast<std::size_t>(s)];
}

const char* to_string(FileState s)
{
    return kFileStates[static_cast<std::size_t>(s)];
}
const char* to_string(Applying s)
{
    return kApplying[static_cast<std::size_t>(s)];
}
const char* to_string(DriftState s)
{
    return kDriftStates[static_cast<std::size_t>(s)];
}

void to_json(json& j, const StatusReply& r)
{
    json drift = json::array();
    for (const auto& d : r.drift)
        drift.push_back({{"name", d.name}, {"file", d.file}, {"kext", d.kext}});
    json applied = nullptr;
    if (r.applied)
        applied = {{"generation", r.applied->generation},
                   {"config_hash", format_config_hash(r.applied->config_hash)},
                   {"at", r.applied->at},
                   {"changed", r.applied->changed}};
    j = {{"ok", true},
         {"daemon", {{"pid", r.daemon.pid}, {"version", r.daemon.version}, {"uptime_s", r.daemon.uptime_s}}},
         {"config",
          {{"path", r.config.path},
           {"state", to_string(r.config.state)},
           {"source", to_string(r.config.source)},
           {"errors", r.config.errors},
           {"loaded_at", string_or_null(r.config.loaded_at)}}},
         {"kext", kext_json(r.kext)},
         {"applied", std::move(applied)},
         {"drift_state", to_string(r.drift_state)},
         {"drift", std::move(drift)},
         {"counters", counters_json(r.counters)},
         {"managed", managed_json(r.managed)}};
    json sources = json::object();
    for (const auto& [name, source] : r.sources)
        sources[name] = to_string(source);
    j["sources"] = std::move(sources);
}

void from_json(const json& j, StatusReply& r)
{
    const json none = json::object();
    const json& d = j.contains("daemon") ? j.at("daemon") : none;
    r.daemon = {d.value("pid", std::int64_t{0}), string_of(d, "version"), d.value("uptime_s", std::int64_t{0})};
    const json& c = j.contains("config") ? j.at("config") : none;
    r.config = {string_of(c, "path"), enum_from(c, "state", kFileStates, FileState::Missing),
                enum_from(c, "source", kApplying, Applying::Nothing), c.value("errors", std::vector<std::string>{}),
                string_of(c, "loaded_at")};
    r.kext = kext_from(j.contains("kext") ? j.at("kext") : none);
    r.applied.reset();
    if (const auto it = j.find("applied"); it != j.end() && it->is_object())
        r.applied = AppliedInfo{it->value("generation", 0ull), hash_of(*it, "config_hash"), string_of(*it, "at"),
                                it->value("changed", 0u)};
    r.drift_state = enum_from(j, "drift_state", kDriftStates, DriftState::Unknown);
    r.drift.clear();
    for (const auto& e : j.value("drift", json::array()))
        r.drift.push_back({string_of(e, "name"), e.value("file", json()), e.value("kext", json())});
    const json& n = j.contains("counters") ? j.at("counters") : none;
    r.counters = {n.value("applies", 0ull), n.value("apply_failures", 0ull), n.value("reloads", 0ull),
                  n.value("events", 0ull),  n.value("seq_gaps", 0ull),       n.value("rereads", 0ull)};
    r.managed = managed_from(j);
    r.sources.clear();
    const json sources = j.value("sources", json::object());
    for (const auto& [name, source] : sources.items())
        r.sources.emplace_back(name, source.is_string()
                                         ? enum_from(json{{"s", source}}, "s", kValueSources, ValueSource::File)
                                         : ValueSource::File);
}

void to_json(json& j, const ReloadReply& r)
{
    j = {{"ok", r.ok}, {"applied", r.applied}, {"changed", r.changed}, {"errors", r.errors}};
    if (!r.error.empty())
        j["error"] = r.error;
}

void from_json(const json& j, ReloadReply& r)
{
    r = {j.value("ok", false), j.value("applied", false), j.value("changed", std::vector<std::string>{}),
         j.value("errors", std::vector<std::string>{}), string_of(j, "error")};
}

void to_json(json& j, const ChangeRequest& r)
{
    j = {{"values", r.values}};
}

void from_json(const json& j, ChangeRequest& r)
{
    // Checked by the command, which says what is wrong with it.
    r.values = j.value("values", json());
}

void to_json(json& j, const SetReply& r)
{
    j = {{"ok", r.ok}};
    if (r.ok)
        j.update({{"kext", r.kext},
                  {"previous_generation", r.previous_generation},
                  {"generation", r.generation},
                  {"config_hash", format_config_hash(r.config_hash)},
                  {"changed", r.changed}});
    if (!r.errors.empty())
        j["errors"] = r.errors;
    if (!r.error.empty())
        j["error"] = r.error;
}

void from_json(const json& j, SetReply& r)
{
    r = {j.value("ok", false),
         string_of(j, "kext"),
         j.value("previous_generation", std::uint64_t{0}),
         j.value("generation", std::uint64_t{0}),
         hash_of(j, "config_hash"),
         j.value("changed", std::uint32_t{0}),
         j.value("errors", std::vector<std::string>{}),
         string_of(j, "error")};
}

void to_json(json& j, const PersistReply& r)
{
    to_json(j, r.reload);
    j["saved"] = r.saved;
    if (r.saved)
        j["kept_comments"] = r.kept_comments;
}

void from_json(const json& j, PersistReply& r)
{
    from_json(j, r.reload);
    r.saved = j.value("saved", false);
    r.kept_comments = j.value("kept_comments", true);
}

} // namespace kextconf::admin
