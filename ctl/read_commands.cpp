// Read commands, open to any user through the query control: status, get,
// describe. (`status` also asks kextconfd, which answers root only.)
#include "commands.hpp"

#include "config_loader.hpp"
#include "values.hpp"

#include <cstdio>
#include <iostream>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

// Longest list `status` and `top` print element by element; longer ones show
// their size (`get NAME` prints it).
constexpr std::uint32_t kStatusListMax = 8;

// kextconfd's view for `status`: its reply, or why there is none.
json daemon_status(const Options& o)
{
    std::error_code ec;
    json reply = daemon_request(o, "status", ec);
    if (ec)
        return {{"available", false}, {"reason", describe_daemon_error(o, ec)}};
    if (!reply.value("ok", false))
        return {{"available", false}, {"reason", "kextconfd refused: " + reply.value("error", std::string("?"))}};
    reply.erase("v");
    reply.erase("ok");
    reply["available"] = true;
    return reply;
}

std::string str_or(const json& j, const char* key, const std::string& dflt = "?")
{
    if (!j.is_object() || !j.contains(key))
        return dflt;
    const auto& v = j.at(key);
    return v.is_string() ? v.get<std::string>() : v.dump();
}

void print_daemon(const json& d)
{
    if (!d.value("available", false)) {
        std::printf("kextconfd: unavailable: %s\n", d.value("reason", std::string("?")).c_str());
        return;
    }
    const json& dm = d.value("daemon", json::object());
    std::printf("kextconfd %s: running, pid %s, up %s s\n", str_or(dm, "version").c_str(), str_or(dm, "pid").c_str(),
                str_or(dm, "uptime_s").c_str());
    const json& cfg = d.value("config", json::object());
    std::printf("config %s: %s (applying %s, read %s)\n", str_or(cfg, "path").c_str(), str_or(cfg, "state").c_str(),
                str_or(cfg, "source").c_str(), str_or(cfg, "loaded_at").c_str());
    for (const auto& e : cfg.value("errors", json::array()))
        std::printf("  %s\n", e.is_string() ? e.get<std::string>().c_str() : e.dump().c_str());
    const json applied = d.value("applied", json());
    if (applied.is_object())
        std::printf("last apply: generation %s, hash %s, %s changed, at %s\n", str_or(applied, "generation").c_str(),
                    str_or(applied, "config_hash").c_str(), str_or(applied, "changed").c_str(),
                    str_or(applied, "at").c_str());
    else
        std::printf("last apply: none yet\n");
    const json drift = d.value("drift", json::array());
    if (drift.empty())
        std::printf("drift: none (the kext holds what the file says)\n");
    for (const auto& x : drift)
        std::printf("drift: %s is %s in the kext, %s in the file\n", str_or(x, "name").c_str(),
                    str_or(x, "kext").c_str(), str_or(x, "file").c_str());
    const json c = d.value("counters", json::object());
    if (!c.empty())
        std::printf("counters: %s applies, %s failed, %s reloads, %s events, %s sequence gaps\n",
                    str_or(c, "applies").c_str(), str_or(c, "apply_failures").c_str(), str_or(c, "reloads").c_str(),
                    str_or(c, "events").c_str(), str_or(c, "seq_gaps").c_str());
}

int cmd_status(const Options& o)
{
    const json daemon = daemon_status(o);
    KextError err;
    auto kext = open_query(o, err);
    if (!kext) {
        const int status = exit_status_for(err);
        if (status != kExitNotLoaded)
            return fail(o, err);
        if (o.json) {
            std::cout << json{{"kext", o.kext}, {"loaded", false}, {"error", err.message}, {"daemon", daemon}}.dump(2)
                      << '\n';
        } else {
            std::printf("kext %s: not loaded (kextconfctl kext load)\n", o.kext.c_str());
            print_daemon(daemon);
        }
        return kExitNotLoaded;
    }
    kc_state st{};
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->state(st); e)
        return fail(o, e);
    if (auto e = kext->describe(schema); e)
        return fail(o, e);
    json tunables = json::object();
    std::vector<std::pair<const proto::TunableDesc*, proto::Value>> values;
    for (const auto& d : schema) {
        proto::Value v;
        if (auto e = kext->get(d, v); e)
            return fail(o, e);
        tunables[d.name] = value_to_json(d, v);
        values.emplace_back(&d, std::move(v));
    }
    const auto& h = kext->hello();
    if (o.json) {
        json out{{"kext", o.kext},
                 {"loaded", true},
                 {"kext_version", proto::field_string(h.kext_version)},
                 {"protocol_version", h.proto_version},
                 {"generation", st.generation},
                 {"config_hash", hash_hex(st.config_hash)},
                 {"load_id", st.load_id},
                 {"event_seq", st.event_seq},
                 {"clients", st.clients},
                 {"tunables", tunables},
                 {"daemon", daemon}};
        std::cout << out.dump(2) << '\n';
        return kExitOk;
    }
    std::printf("kext %s %s: loaded, protocol %u\n", o.kext.c_str(), proto::field_string(h.kext_version).c_str(),
                h.proto_version);
    // The count includes this connection.
    std::printf("generation %llu, config hash %s, %u clients, %u events posted\n",
                static_cast<unsigned long long>(st.generation), hash_hex(st.config_hash).c_str(), st.clients,
                st.event_seq);
    std::size_t width = 0;
    for (const auto& [d, v] : values)
        width = std::max(width, d->name.size());
    for (const auto& [d, v] : values) {
        const bool is_default = v == d->def;
        std::printf("  %-*s = %s%s\n", static_cast<int>(width), d->name.c_str(), format_summary(*d, v).c_str(),
                    is_default ? "" : "   (set)");
    }
    print_daemon(daemon);
    return kExitOk;
}

int cmd_get(const Options& o, const std::vector<std::string>& names)
{
    KextError err;
    auto kext = open_query(o, err);
    if (!kext)
        return fail(o, err);
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->describe(schema); e)
        return fail(o, e);
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
    KextError err;
    auto kext = open_query(o, err);
    if (!kext)
        return fail(o, err);
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->describe(schema); e)
        return fail(o, e);
    if (o.json) {
        json out = json::array();
        for (const auto& d : schema)
            out.push_back(describe_json(d));
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
    }
    return kExitOk;
}

} // namespace

void add_read_commands(CLI::App& app, Options& o, Command& run)
{
    auto* status = app.add_subcommand(
        "status", "the kext's state (loaded?, version, generation, config hash, clients, values) and kextconfd's "
                  "(config file state, last apply, drift, errors; root only, shown as unavailable otherwise)");
    on_parsed(status, run, [&o] { return cmd_status(o); });

    auto names = std::make_shared<std::vector<std::string>>();
    auto* get = app.add_subcommand("get", "print tunables' current values (all of them without NAME)");
    get->add_option("NAME", *names, "tunable names");
    on_parsed(get, run, [&o, names] { return cmd_get(o, *names); });

    auto* describe = app.add_subcommand("describe", "every tunable: type, bounds, default, unit, flags, help");
    on_parsed(describe, run, [&o] { return cmd_describe(o); });
}

} // namespace kextconf::ctl
