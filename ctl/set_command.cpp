// `set NAME=VALUE...`: one transaction on the admin control (transient, like
// sysctl -w), or with --persist an edit of the configuration file that
// kextconfd then reloads.
#include "commands.hpp"

#include "config_edit.hpp"
#include "value_text.hpp"
#include "values.hpp"

#include <cstdio>
#include <iostream>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

struct SetArgs {
    std::vector<std::string> assignments;
    bool persist = false;
};

// Reads NAME=VALUE arguments against the kext's schema into name -> JSON.
// Returns an exit status (kExitOk when `out` is filled).
int read_assignments(const Options& o, const std::vector<std::string>& args,
                     const std::vector<proto::TunableDesc>& schema, json& out)
{
    std::vector<std::string> known;
    for (const auto& d : schema)
        known.push_back(d.name);
    out = json::object();
    for (const auto& arg : args) {
        const auto kv = split_assignment(arg);
        if (!kv)
            return fail(o, kExitUsage, "\"" + arg + "\" is not NAME=VALUE (e.g. kextconfctl set max_clients=128)");
        const proto::TunableDesc* desc = nullptr;
        for (const auto& d : schema)
            if (d.name == kv->first)
                desc = &d;
        if (desc == nullptr) {
            std::string msg = "no tunable named \"" + kv->first + "\" in " + o.kext;
            if (auto s = suggest(kv->first, known); !s.empty())
                msg += " (did you mean \"" + s + "\"?)";
            return fail(o, kExitNoSuchTunable, msg + "; kextconfctl describe lists them");
        }
        out[kv->first] = text_to_json(*desc, kv->second);
    }
    return kExitOk;
}

int print_errors(const Options& o, const std::vector<std::string>& errors, const std::string& what)
{
    std::string all;
    for (const auto& e : errors)
        all += "\n  " + e;
    return fail(o, kExitFailure, what + ":" + all, {{"errors", errors}});
}

int set_transient(const Options& o, const SetArgs& a)
{
    KextError err;
    auto kext = open_admin(o, err);
    if (!kext)
        return fail(o, err);
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->describe(schema); e)
        return fail(o, e);
    json values;
    if (int st = read_assignments(o, a.assignments, schema, values); st != kExitOk)
        return st;
    for (auto it = values.begin(); it != values.end(); ++it)
        for (const auto& d : schema)
            if (d.name == it.key() && (d.flags & KC_TF_LOAD_ONLY))
                return fail(o, kExitFailure,
                            "tunable \"" + d.name +
                                "\" is load-only: the kext reads it when it loads. Use kextconfctl set --persist, "
                                "then reload the kext (kextconfctl kext unload && kextconfctl kext load)");
    std::vector<std::string> errors;
    const auto valid = validate_assignments(o.kext, values, schema, errors);
    if (!valid)
        return print_errors(o, errors, "nothing was changed");
    kc_state st{};
    if (auto e = kext->state(st); e)
        return fail(o, e);
    ApplyResult res;
    if (auto e = kext->apply(st.generation, valid->values, res); e)
        return fail(o, kExitFailure, "the kext refused the change, nothing was changed: " + e.message);
    if (o.json) {
        std::cout << json{{"kext", o.kext},
                          {"persistent", false},
                          {"previous_generation", st.generation},
                          {"generation", res.generation},
                          {"config_hash", hash_hex(res.config_hash)},
                          {"changed", res.changed},
                          {"values", values}}
                         .dump(2)
                  << '\n';
        return kExitOk;
    }
    for (const auto& [index, v] : valid->values)
        if (const auto* d = find_desc(schema, index))
            std::printf("%s = %s\n", d->name.c_str(), format_value(*d, v).c_str());
    std::printf("%s: generation %llu -> %llu, %u changed\n", o.kext.c_str(),
                static_cast<unsigned long long>(st.generation), static_cast<unsigned long long>(res.generation),
                res.changed);
    std::fprintf(stderr,
                 "note: this change is transient, like sysctl -w: it lasts until the kext is reloaded, and "
                 "kextconfd puts back what %s says when it notices the drift. Use --persist to change the file.\n",
                 o.config.c_str());
    return kExitOk;
}

int set_persistent(const Options& o, const SetArgs& a)
{
    // No root check: the file's permissions decide (root's under launchd).
    std::vector<Diagnostic> diags;
    const auto text = read_config_file(o.config, diags);
    std::optional<ConfigDocument> doc;
    if (text)
        doc = parse_config(*text, o.config, diags);
    if (!doc || !diags.empty()) {
        std::vector<std::string> errors;
        for (const auto& d : diags)
            errors.push_back(d.str());
        return print_errors(o, errors, o.config + " is not usable, so it was left alone (fix it by hand)");
    }
    // The file's kext decides whose schema the values are read with.
    Options fo = o;
    fo.kext = doc->kext;
    KextError err;
    auto kext = open_query(fo, err);
    if (!kext)
        return fail(fo, err);
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->describe(schema); e)
        return fail(fo, e);
    json values;
    if (int st = read_assignments(fo, a.assignments, schema, values); st != kExitOk)
        return st;

    std::vector<std::string> errors;
    const auto edited = edit_config(*text, *doc, values, schema, o.config, errors);
    if (!edited)
        return print_errors(o, errors, o.config + " was left alone");
    std::string what;
    if (auto ec = write_file_atomically(o.config, edited->text, what)) {
        const bool denied = ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted;
        return fail(o, denied ? kExitNotRoot : kExitFailure,
                    "cannot " + what + ": " + ec.message() + "; " + o.config + " was left alone" +
                        (denied ? "; " + run_as_root_hint() : ""));
    }
    if (!o.json) {
        std::printf("saved %s%s\n", o.config.c_str(),
                    edited->kept_comments ? "" : " (rewritten whole: its comments are gone)");
        std::fflush(stdout);
    }
    return ask_daemon_reload(o);
}

} // namespace

void add_set_command(CLI::App& app, Options& o, Command& run)
{
    auto a = std::make_shared<SetArgs>();
    auto* set = app.add_subcommand(
        "set", "change tunables in one transaction (root). Transient, like sysctl -w: the kext keeps the values until "
               "it is reloaded, and kextconfd may put the config file's values back when it sees the drift. With "
               "--persist, edit the config file instead (atomically, keeping comments) and have kextconfd reload it");
    set->add_option("NAME=VALUE", a->assignments,
                    "bool: true/false; numbers: decimal; enum: a name; string: as typed; lists: a,b,c or [..]")
        ->required();
    set->add_flag("--persist", a->persist, "edit the configuration file (--config) and ask kextconfd to reload it");
    on_parsed(set, run, [&o, a] { return a->persist ? set_persistent(o, *a) : set_transient(o, *a); });
}

} // namespace kextconf::ctl
