// kextconfctl: the administrator's controller for a kextconf kext.
//
// Exit status: 0 success; 1 failure; 2 usage error; 3 the kext is not loaded;
// 4 no such tunable.
#include "config_loader.hpp"
#include "kext_client.hpp"
#include "values.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace {

using namespace kextconf;
using nlohmann::json;

constexpr int kExitFailure = 1;
constexpr int kExitNotLoaded = 3;
constexpr int kExitNoSuchTunable = 4;
// Longest list `status` prints element by element; longer ones show their size.
constexpr std::uint32_t kStatusListMax = 8;

struct Options {
    std::string kext = "org.kextconf.reference";
    bool json = false;
};

int report(const Options& o, const KextError& e)
{
    const bool absent = e.ec == std::errc::no_such_file_or_directory;
    if (o.json)
        std::cout << json{{"error", e.message}, {"loaded", !absent}}.dump(2) << '\n';
    else
        std::fprintf(stderr, "kextconfctl: %s\n", e.message.c_str());
    return absent ? kExitNotLoaded : kExitFailure;
}

std::string hex(std::uint64_t v)
{
    char buf[19];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// Reads are open to anyone through the query control.
std::unique_ptr<KextClient> open_query(const Options& o, KextError& err)
{
    return KextClient::connect(o.kext, KextClient::Access::Query, err);
}

int cmd_status(const Options& o)
{
    KextError err;
    auto kext = open_query(o, err);
    if (!kext) {
        if (err.ec == std::errc::no_such_file_or_directory && !o.json) {
            std::printf("kext %s: not loaded\n", o.kext.c_str());
            return kExitNotLoaded;
        }
        return report(o, err);
    }
    kc_state st{};
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->state(st); e)
        return report(o, e);
    if (auto e = kext->describe(schema); e)
        return report(o, e);
    json tunables = json::object();
    std::vector<std::pair<const proto::TunableDesc*, proto::Value>> values;
    for (const auto& d : schema) {
        proto::Value v;
        if (auto e = kext->get(d, v); e)
            return report(o, e);
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
                 {"config_hash", hex(st.config_hash)},
                 {"load_id", st.load_id},
                 {"event_seq", st.event_seq},
                 {"clients", st.clients},
                 {"tunables", tunables}};
        std::cout << out.dump(2) << '\n';
        return 0;
    }
    std::printf("kext %s %s: loaded, protocol %u\n", o.kext.c_str(), proto::field_string(h.kext_version).c_str(),
                h.proto_version);
    std::printf("generation %llu, config hash %s, %u clients, %u events posted\n",
                static_cast<unsigned long long>(st.generation), hex(st.config_hash).c_str(), st.clients, st.event_seq);
    std::size_t width = 0;
    for (const auto& [d, v] : values)
        width = std::max(width, d->name.size());
    for (const auto& [d, v] : values) {
        const bool is_default = v == d->def;
        // A long list would bury the summary: give its size (`get NAME` prints it).
        const bool long_list = proto::is_list_type(v.type) && v.element_count() > kStatusListMax;
        const std::string shown =
            long_list ? "[" + std::to_string(v.element_count()) + " entries]" : format_value(*d, v);
        std::printf("  %-*s = %s%s\n", static_cast<int>(width), d->name.c_str(), shown.c_str(),
                    is_default ? "" : "   (set)");
    }
    return 0;
}

int cmd_get(const Options& o, const std::vector<std::string>& names)
{
    KextError err;
    auto kext = open_query(o, err);
    if (!kext)
        return report(o, err);
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->describe(schema); e)
        return report(o, e);
    json out = json::object();
    std::vector<std::string> known;
    for (const auto& d : schema)
        known.push_back(d.name);
    for (const auto& name : names) {
        const proto::TunableDesc* desc = nullptr;
        for (const auto& d : schema)
            if (d.name == name)
                desc = &d;
        if (desc == nullptr) {
            std::string msg = "no tunable named \"" + name + "\" in " + o.kext;
            if (auto s = suggest(name, known); !s.empty())
                msg += " (did you mean \"" + s + "\"?)";
            return report(o, {std::make_error_code(std::errc::invalid_argument), msg}) == kExitNotLoaded
                       ? kExitNotLoaded
                       : kExitNoSuchTunable;
        }
        proto::Value v;
        if (auto e = kext->get(*desc, v); e)
            return report(o, e);
        if (o.json)
            out[name] = value_to_json(*desc, v);
        else if (names.size() == 1)
            std::printf("%s\n", format_value(*desc, v).c_str());
        else
            std::printf("%s = %s\n", name.c_str(), format_value(*desc, v).c_str());
    }
    if (o.json)
        std::cout << out.dump(2) << '\n';
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"kextconfctl: inspect and control a kext configured by kextconf.\n"
                 "Exit status: 0 ok, 1 failure, 2 usage, 3 kext not loaded, 4 no such tunable."};
    Options o;
    app.add_option("--kext", o.kext, "bundle id of the kext")->capture_default_str();
    app.add_flag("--json", o.json, "machine-readable output");
    app.require_subcommand(1);
    app.set_version_flag("--version", "kextconfctl " KEXTCONF_VERSION);

    auto* status = app.add_subcommand("status", "kext state: loaded?, protocol, generation, config hash, values");
    std::vector<std::string> names;
    auto* get = app.add_subcommand("get", "print the current value of tunables");
    get->add_option("NAME", names, "tunable names")->required();
    CLI11_PARSE(app, argc, argv);

    try {
        if (status->parsed())
            return cmd_status(o);
        if (get->parsed())
            return cmd_get(o, names);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "kextconfctl: internal error: %s\n", e.what());
        return kExitFailure;
    }
    return 2;
}
