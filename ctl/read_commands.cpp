// Read commands, open to any user through the query control: status, get,
// describe. (`status` also asks kextconfd, which answers root only.)
#include "commands.hpp"

#include <kextconf/admin_protocol.hpp>
#include <kextconf/config_loader.hpp>
#include <kextconf/values.hpp>

#include <cstdio>
#include <iostream>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

// Longest list `status` and `top` print element by element; longer ones show
// their size (`get NAME` prints it).
constexpr std::uint32_t kStatusListMax = 8;

// kextconfd's view for `status`: its reply, or why there is none.
struct DaemonView {
    std::optional<admin::StatusReply> reply;
    std::string reason; // why there is no reply
};

DaemonView daemon_status(const Options& o)
{
    std::error_code ec;
    const json reply = daemon_request(o, "status", ec);
    if (ec)
        return {std::nullopt, describe_daemon_error(o, ec)};
    if (!reply.value("ok", false))
        return {std::nullopt, "kextconfd refused: " + reply.value("error", std::string("?"))};
    return {reply.get<admin::StatusReply>(), ""};
}

json daemon_json(const DaemonView& d)
{
    if (!d.reply)
        return {{"available", false}, {"reason", d.reason}};
    json out = *d.reply;
    out.erase("ok");
    out["available"] = true;
    return out;
}

// What is being applied, as true for the file's state: a missing or bad
// file is not what is applied.
std::string applying_text(const admin::ConfigInfo& c)
{
    switch (c.source) {
    case admin::Applying::Nothing: return "nothing applied";
    case admin::Applying::SavedCopy: return "applying the saved last good copy";
    case admin::Applying::File: break;
    }
    return c.state == admin::FileState::Good ? "applying it" : "applying its last good content";
}

std::string drift_text(const admin::StatusReply& r)
{
    switch (r.drift_state) {
    case admin::DriftState::InSync: return "drift: none (the kext holds the configuration in force)\n";
    case admin::DriftState::KextNotLoaded: return "drift: not known (the kext is not loaded)\n";
    case admin::DriftState::NotApplied: return "drift: not known (nothing applied to this load of the kext)\n";
    case admin::DriftState::Unknown: return "drift: not known (the kext's values could not be read)\n";
    case admin::DriftState::Drifted: break;
    }
    std::string out;
    for (const auto& d : r.drift)
        out += "drift: " + d.name + " is " + d.kext.dump() + " in the kext, " + d.file.dump() + " in the file\n";
    return out;
}

// The profile's line in `status`: which file, its state, when it changed, what it manages.
void print_profile(const admin::ManagedInfo& m)
{
    std::string manages;
    for (const auto& t : m.tunables)
        manages += (manages.empty() ? "" : ", ") + t;
    std::printf("profile %s (%s): %s%s%s\n", m.domain.c_str(), m.path.c_str(), admin::to_string(m.state),
                m.changed_at.empty() ? "" : (", changed " + m.changed_at).c_str(),
                manages.empty() ? "; manages nothing" : ("; manages " + manages).c_str());
    for (const auto& e : m.errors)
        std::printf("  %s\n", e.c_str());
}

void print_daemon(const DaemonView& d)
{
    if (!d.reply) {
        std::printf("kextconfd: unavailable: %s\n", d.reason.c_str());
        return;
    }
    const admin::StatusReply& r = *d.reply;
    std::printf("kextconfd %s: running, pid %lld, up %lld s\n", r.daemon.version.c_str(),
                static_cast<long long>(r.daemon.pid), static_cast<long long>(r.daemon.uptime_s));
    const std::string when = r.config.loaded_at.empty()                    ? "never read"
                             : r.config.state == admin::FileState::Missing ? "missing since " + r.config.loaded_at
                                                                           : "read " + r.config.loaded_at;
    std::printf("config %s: %s (%s; %s)\n", r.config.path.c_str(), admin::to_string(r.config.state),
                applying_text(r.config).c_str(), when.c_str());
    for (const auto& e : r.config.errors)
        std::printf("  %s\n", e.c_str());
    if (r.managed)
        print_profile(*r.managed);
    if (r.applied)
        std::printf("last apply: generation %llu, hash %s, %u changed, at %s\n",
                    static_cast<unsigned long long>(r.applied->generation),
                    format_config_hash(r.applied->config_hash).c_str(), r.applied->changed, r.applied->at.c_str());
    else
        std::printf("last apply: none yet\n");
    std::fputs(drift_text(r).c_str(), stdout);
    const admin::Counters& c = r.counters;
    std::printf("counters: %llu applies, %llu failed, %llu reloads, %llu events, %llu sequence gaps\n",
                static_cast<unsigned long long>(c.applies), static_cast<unsigned long long>(c.apply_failures),
                static_cast<unsigned long long>(c.reloads), static_cast<unsigned long long>(c.events),
                static_cast<unsigned long long>(c.seq_gaps));
}

// The kext's part of `status`, read through the query control.
struct KextView {
    kc_state st{};
    std::vector<proto::TunableDesc> schema;
    std::vector<proto::Value> values; // schema order
};

KextError read_kext_view(KextClient& kext, KextView& v)
{
    if (auto e = kext.state(v.st))
        return e;
    if (auto e = kext.describe(v.schema))
        return e;
    v.values.resize(v.schema.size());
    for (std::size_t i = 0; i < v.schema.size(); ++i)
        if (auto e = kext.get(v.schema[i], v.values[i]))
            return e;
    return {};
}

json kext_json(const Options& o, const kc_hello_reply& h, const KextView& v)
{
    json tunables = json::object();
    for (std::size_t i = 0; i < v.schema.size(); ++i)
        tunables[v.schema[i].name] = value_to_json(v.schema[i], v.values[i]);
    return {{"kext", o.kext},
            {"loaded", true},
            {"kext_version", proto::field_string(h.kext_version)},
            {"protocol_version", h.proto_version},
            {"generation", v.st.generation},
            {"config_hash", format_config_hash(v.st.config_hash)},
            {"load_id", v.st.load_id},
            {"event_seq", v.st.event_seq},
            {"clients", v.st.clients},
            {"tunables", std::move(tunables)}};
}

// A tunable's source as kextconfd reports it ("" when it does not).
std::string source_of(const DaemonView& d, const std::string& name)
{
    if (d.reply)
        for (const auto& [n, source] : d.reply->sources)
            if (n == name)
                return admin::to_string(source);
    return "";
}

void print_kext(const Options& o, const kc_hello_reply& h, const KextView& v, const DaemonView& daemon)
{
    std::printf("kext %s %s: loaded, protocol %u\n", o.kext.c_str(), proto::field_string(h.kext_version).c_str(),
                h.proto_version);
    // The count includes this connection.
    std::printf("generation %llu, config hash %s, %s, %s posted\n", static_cast<unsigned long long>(v.st.generation),
                format_config_hash(v.st.config_hash).c_str(), counted(v.st.clients, "client").c_str(),
                counted(v.st.event_seq, "event").c_str());
    std::size_t width = 0;
    for (const auto& d : v.schema)
        width = std::max(width, d.name.size());
    for (std::size_t i = 0; i < v.schema.size(); ++i) {
        const auto& d = v.schema[i];
        const std::string source = source_of(daemon, d.name);
        const std::string note = !source.empty() ? "   (" + source + ")" : v.values[i] == d.def ? "" : "   (set)";
        std::printf("  %-*s = %s%s\n", static_cast<int>(width), d.name.c_str(), format_summary(d, v.values[i]).c_str(),
                    note.c_str());
    }
}

int cmd_status(const Options& o)
{
    const DaemonView daemon = daemon_status(o);
    KextError err;
    auto kext = open_query(o, err);
    if (!kext) {
        const int status = exit_status_for(err);
        if (status != kExitNotLoaded)
            return fail(o, err);
        if (o.json) {
            std::cout << json{{"kext", o.kext},
                              {"loaded", false},
                              {"error", err.message},
                              {"daemon", daemon_json(daemon)}}
                             .dump(2)
                      << '\n';
        } else {
            std::printf("kext %s: not loaded (kextconfctl kext load)\n", o.kext.c_str());
            print_daemon(daemon);
        }
        return kExitNotLoaded;
    }
    KextView view;
    if (auto e = read_kext_view(*kext, view))
        return fail(o, e);
    if (o.json) {
        json out = kext_json(o, kext->hello(), view);
        out["daemon"] = daemon_json(daemon);
        std::cout << out.dump(2) << '\n';
    } else {
        print_kext(o, kext->hello(), view, daemon);
        print_daemon(daemon);
    }
    return kExitOk;
}

int cmd_get(const Options& o, const std::vector<std::string>& names)
{
    std::vector<proto::TunableDesc> schema;
    int status = kExitOk;
    auto kext = open_described(o, schema, status);
    if (!kext)
        return status;
    json out = json::object();
    std::vector<std::string> known;
    for (const auto& d : schema)
        known.push_back(d.name);
    // No names: every tunable.
    const std::vector<std::string> wanted = names.empty() ? known : names;
    for (const auto& name : wanted) {
        const proto::TunableDesc* desc = nullptr;
        for (const auto& d : schema)
            if (d.name == name)
                desc = &d;
        if (desc == nullptr) {
            std::string msg = "no tunable named \"" + name + "\" in " + o.kext;
            if (auto s = suggest(name, known); !s.empty())
                msg += " (did you mean \"" + s + "\"?)";
            return fail(o, kExitNoSuchTunable, msg + "; kextconfctl describe lists them");
        }
        proto::Value v;
        if (auto e = kext->get(*desc, v); e)
            return fail(o, e);
        if (o.json)
            out[name] = value_to_json(*desc, v);
        else if (wanted.size() == 1 && !names.empty())
            std::printf("%s\n", format_value(*desc, v).c_str());
        else
            std::printf("%s = %s\n", name.c_str(), format_value(*desc, v).c_str());
    }
    if (o.json)
        std::cout << out.dump(2) << '\n';
    return kExitOk;
}

} // namespace

int get_command(const Options& o, const std::vector<std::string>& names)
{
    return cmd_get(o, names);
}

std::string format_summary(const proto::TunableDesc& d, const proto::Value& v)
{
    if (proto::is_list_type(v.type) && v.element_count() > kStatusListMax)
        return "[" + std::to_string(v.element_count()) + " entries]";
    return format_value(d, v);
}

std::string describe_bounds(const proto::TunableDesc& d)
{
    const auto i = [](std::int64_t v) { return std::to_string(v); };
    const auto u = [](std::uint64_t v) { return std::to_string(v); };
    switch (d.type) {
    case KC_TYPE_BOOL: return "true or false";
    case KC_TYPE_INT64: return "[" + i(d.min.i) + ", " + i(d.max.i) + "]";
    case KC_TYPE_UINT64: return "[" + u(d.min.u) + ", " + u(d.max.u) + "]";
    case KC_TYPE_ENUM: {
        std::string s = "one of ";
        for (std::size_t k = 0; k < d.enum_names.size(); ++k)
            s += (k ? "|" : "") + d.enum_names[k];
        return s;
    }
    case KC_TYPE_STRING: return "up to " + u(d.max_count) + " bytes";
    case KC_TYPE_INT64_LIST:
        return "up to " + u(d.max_count) + " entries, each in [" + i(d.min.i) + ", " + i(d.max.i) + "]";
    case KC_TYPE_STRING_LIST: return "up to " + u(d.max_count) + " strings";
    default: return "?";
    }
}

json describe_json(const proto::TunableDesc& d)
{
    json flags = json::array();
    if (d.flags & KC_TF_LOAD_ONLY)
        flags.push_back("load-only");
    if (d.flags & KC_TF_HIDDEN)
        flags.push_back("hidden");
    json j{{"index", d.index},
           {"name", d.name},
           {"type", proto::type_name(d.type)},
           {"default", value_to_json(d, d.def)},
           {"unit", d.unit},
           {"flags", flags},
           {"help", d.help},
           {"bounds", describe_bounds(d)}};
    if (d.type == KC_TYPE_INT64 || d.type == KC_TYPE_INT64_LIST)
        j["min"] = d.min.i, j["max"] = d.max.i;
    if (d.type == KC_TYPE_UINT64)
        j["min"] = d.min.u, j["max"] = d.max.u;
    if (d.type == KC_TYPE_ENUM)
        j["values"] = d.enum_names;
    if (d.type == KC_TYPE_STRING || proto::is_list_type(d.type))
        j["max_count"] = d.max_count;
    return j;
}

namespace {

int cmd_describe(const Options& o)
{
    std::vector<proto::TunableDesc> schema;
    int status = kExitOk;
    if (!open_described(o, schema, status))
        return status;
    // Where each value comes from, when kextconfd is there to say.
    const DaemonView daemon = daemon_status(o);
    if (o.json) {
        json out = json::array();
        for (const auto& d : schema) {
            out.push_back(describe_json(d));
            if (const std::string source = source_of(daemon, d.name); !source.empty())
                out.back()["source"] = source;
        }
        std::cout << json{{"kext", o.kext}, {"tunables", out}}.dump(2) << '\n';
        return kExitOk;
    }
    for (const auto& d : schema) {
        std::printf("%s (%s%s%s)\n", d.name.c_str(), std::string(proto::type_name(d.type)).c_str(),
                    d.unit.empty() ? "" : ", ", d.unit.c_str());
        std::printf("    %s\n", d.help.c_str());
        std::printf("    values: %s; default %s\n", describe_bounds(d).c_str(), format_value(d, d.def).c_str());
        if (d.flags & KC_TF_LOAD_ONLY)
            std::printf("    load-only: a change takes effect at the next load of the kext\n");
        if (const std::string source = source_of(daemon, d.name); source == "managed")
            std::printf("    source: managed by the profile %s (kextconfctl set refuses it)\n",
                        daemon.reply->managed ? daemon.reply->managed->domain.c_str() : "");
        else if (!source.empty())
            std::printf("    source: %s\n", source.c_str());
    }
    return kExitOk;
}

} // namespace

void add_read_commands(CLI::App& app, Options& o, Command& run)
{
    add_command(app, run, "status",
                "the kext's state (loaded?, version, generation, config hash, clients, values) and kextconfd's "
                "(config file state, last apply, drift, errors; root only, shown as unavailable otherwise)",
                [&o] { return cmd_status(o); });

    auto names = std::make_shared<std::vector<std::string>>();
    auto* get = add_command(app, run, "get", "print tunables' current values (all of them without NAME)",
                            [&o, names] { return cmd_get(o, *names); });
    get->add_option("NAME", *names, "tunable names");

    add_command(app, run, "describe", "every tunable: type, bounds, default, unit, flags, help",
                [&o] { return cmd_describe(o); });
}

} // namespace kextconf::ctl
