// `set NAME=VALUE...`: one transaction on the admin control (transient, like
// sysctl -w), or with --persist an edit of the configuration file that
// kextconfd then reloads.
#include "commands.hpp"

#include <kextconf/admin_protocol.hpp>
#include <kextconf/config_edit.hpp>
#include <kextconf/file.hpp>
#include <kextconf/value_text.hpp>
#include <kextconf/values.hpp>

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

// Whether the kext already holds every one of `values`; an exit status other
// than kExitOk when it could not be read.
int kext_holds(const Options& o, KextClient& kext, const std::vector<proto::TunableDesc>& schema,
               const std::vector<std::pair<std::uint32_t, proto::Value>>& values, bool& holds)
{
    holds = true;
    for (const auto& [index, v] : values) {
        const auto* d = find_desc(schema, index);
        proto::Value now;
        if (d == nullptr)
            return holds = false, kExitOk;
        if (auto e = kext.get(*d, now); e)
            return fail(o, e);
        holds = holds && now == v;
    }
    return kExitOk;
}

// Tunables the organisation's profile manages (kextconfd's status says which)
// are not set here either, transient or persistent. Without a daemon to ask,
// nothing is known to be managed (and nothing would keep a profile applied).
int refuse_managed(const Options& o, const json& values)
{
    std::error_code ec;
    const json reply = daemon_request(o, "status", ec);
    if (ec || !reply.value("ok", false))
        return kExitOk;
    const auto status = reply.get<admin::StatusReply>();
    if (!status.managed)
        return kExitOk;
    std::vector<std::string> errors;
    for (const auto& name : status.managed->tunables)
        if (values.contains(name))
            errors.push_back(admin::managed_refusal(name, status.managed->domain));
    return errors.empty() ? kExitOk : print_errors(o, errors, "nothing was changed");
}

using Opener = std::unique_ptr<KextClient> (*)(const Options&, KextError&); // open_admin, open_query

// The kext opened with `open`, its schema and the values the NAME=VALUE
// arguments ask for, read against it; refused when the organisation's profile
// manages one. nullptr with an exit status in `status` when any of it fails.
std::unique_ptr<KextClient> open_with_values(const Options& o, Opener open, const SetArgs& a,
                                             std::vector<proto::TunableDesc>& schema, json& values, int& status)
{
    KextError err;
    auto kext = open(o, err);
    if (kext)
        err = kext->describe(schema);
    if (err)
        status = fail(o, err);
    else if (status = read_assignments(o, a.assignments, schema, values); status == kExitOk)
        status = refuse_managed(o, values);
    return status == kExitOk ? std::move(kext) : nullptr;
}

// What happens to a transient value next, from what kextconfd says its file is.
void print_transient_note(const Options& o)
{
    std::error_code ec;
    const std::string file = daemon_config_path(o, ec);
    const std::string why = daemon_exit_status(ec) == kExitNoDaemon ? "kextconfd is not running"
                                                                    : "kextconfd did not answer: " + ec.message();
    if (ec)
        std::fprintf(stderr,
                     "note: this change is transient, like sysctl -w: it lasts until the kext is reloaded (%s). To "
                     "change a configuration file, use --persist --config FILE.\n",
                     why.c_str());
    else
        std::fprintf(stderr,
                     "note: this change is transient, like sysctl -w: kextconfd reports it as drift from %s and "
                     "leaves it; the file's values return at kextconfd's next reload (an edit of the file, SIGHUP, "
                     "kextconfctl reload) or when the kext loads again. Use --persist to change the file.\n",
                     file.c_str());
}

// `set --json`'s answer: the transaction (or none, when `res` is the state
// before it).
int print_set_json(const Options& o, std::uint64_t previous, const ApplyResult& res, const json& values)
{
    std::cout << json{{"kext", o.kext},
                      {"persistent", false},
                      {"previous_generation", previous},
                      {"generation", res.generation},
                      {"config_hash", format_config_hash(res.config_hash)},
                      {"changed", res.changed},
                      {"values", values}}
                     .dump(2)
              << '\n';
    return kExitOk;
}

int set_transient(const Options& o, const SetArgs& a)
{
    std::vector<proto::TunableDesc> schema;
    json values;
    int outcome = kExitOk;
    auto kext = open_with_values(o, open_admin, a, schema, values, outcome);
    if (!kext)
        return outcome;
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
    // Setting what the kext already holds is not a transaction: no new
    // generation, no events, nothing for kextconfd to call drift.
    bool holds = false;
    if (int status = kext_holds(o, *kext, schema, valid->values, holds); status != kExitOk)
        return status;
    if (holds) {
        if (o.json)
            return print_set_json(o, st.generation, {st.generation, st.config_hash, 0}, values);
        std::printf("%s already holds %s: nothing changed (generation %llu)\n", o.kext.c_str(),
                    valid->values.size() == 1 ? "this value" : "these values",
                    static_cast<unsigned long long>(st.generation));
        return kExitOk;
    }
    ApplyResult res;
    if (auto e = kext->apply(st.generation, valid->values, res); e)
        return fail(o, kExitFailure, "the kext refused the change, nothing was changed: " + e.message);
    if (o.json)
        return print_set_json(o, st.generation, res, values);
    for (const auto& [index, v] : valid->values)
        if (const auto* d = find_desc(schema, index))
            std::printf("%s = %s\n", d->name.c_str(), format_value(*d, v).c_str());
    std::printf("%s: generation %llu -> %llu, %u changed\n", o.kext.c_str(),
                static_cast<unsigned long long>(st.generation), static_cast<unsigned long long>(res.generation),
                res.changed);
    print_transient_note(o);
    return kExitOk;
}

int set_persistent(const Options& options, const SetArgs& a)
{
    Options o = options;
    if (int status = config_file_to_use(options, options.config, "set --persist edits", "--config", o.config);
        status != kExitOk)
        return status;
    // No root check: the file's permissions decide (root's under launchd).
    std::vector<Diagnostic> diags;
    const auto file = load_config_file(o.config, diags);
    if (!file || !file->doc) {
        std::vector<std::string> errors;
        for (const auto& d : diags)
            errors.push_back(d.str());
        return print_errors(o, errors, o.config + " is not usable, so it was left alone (fix it by hand)");
    }
    // The file's kext decides whose schema the values are read with.
    Options fo = o;
    fo.kext = file->doc->kext;
    std::vector<proto::TunableDesc> schema;
    json values;
    int outcome = kExitOk;
    if (!open_with_values(fo, open_query, a, schema, values, outcome))
        return outcome;

    std::vector<std::string> errors;
    const auto edited = edit_config(file->text, *file->doc, values, schema, o.config, errors);
    if (!edited)
        return print_errors(o, errors, o.config + " was left alone");
    // A new file is 0644 like the installed one; an existing one keeps its mode and owner.
    if (const ReplaceResult r =
            replace_file_atomically(o.config, edited->text, 0644, /*keep_old_mode_and_owner=*/true)) {
        const bool denied = r.ec == std::errc::permission_denied || r.ec == std::errc::operation_not_permitted;
        return fail(o, denied ? kExitNotRoot : kExitFailure,
                    "cannot " + r.failed_step + ": " + r.ec.message() + "; " + o.config + " was left alone" +
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
    auto* set = add_command(
        app, run, "set",
        "change tunables in one transaction (root); values the kext already holds change nothing. Transient, "
        "like sysctl -w: kextconfd reports the difference from its file as drift and leaves it until its next "
        "reload or the kext's next load. With --persist, edit the config file instead (atomically, keeping "
        "comments) and have kextconfd reload it",
        [&o, a] { return a->persist ? set_persistent(o, *a) : set_transient(o, *a); });
    set->add_option("NAME=VALUE", a->assignments,
                    "values as the config file writes them: true/false, numbers, [lists] (or a,b,c); strings and "
                    "enum names need no quotes")
        ->required();
    set->add_flag("--persist", a->persist,
                  "edit the configuration file (--config, else the one the running kextconfd uses) and ask kextconfd "
                  "to reload it");
}

} // namespace kextconf::ctl
