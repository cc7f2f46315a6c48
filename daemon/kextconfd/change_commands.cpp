// Daemon: the admin socket's change commands for members of the admin group
// (kextconf/admin_protocol.hpp): "set" (one transient transaction, like
// `kextconfctl set`) and "persist" (an edit of the config file, comments
// kept, then the same reload as SIGHUP: ConfigSource re-reads it and the
// Applier applies it, like `kextconfctl set --persist`). The daemon runs as
// root, so a member needs neither the privileged control nor write access to
// the file.
#include "daemon.hpp"

#include <kextconf/config_edit.hpp>
#include <kextconf/file.hpp>
#include <kextconf/logging.hpp>
#include <kextconf/value_text.hpp>

namespace kextconf {

namespace {

using nlohmann::json;

bool usable_values(const json& values)
{
    return values.is_object() && !values.empty();
}

std::string values_text(const json& values)
{
    return values.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A transient set cannot change what the kext reads only when it loads.
std::string load_only_refusal(const std::vector<proto::TunableDesc>& schema, const json& values)
{
    for (const auto& d : schema)
        if (values.contains(d.name) && (d.flags & KC_TF_LOAD_ONLY))
            return "tunable \"" + d.name +
                   "\" is load-only: the kext reads it when it loads. Save it to the file instead, then reload the "
                   "kext";
    return "";
}

admin::SetReply set_reply(const std::string& bundle, std::uint64_t previous_generation, const ApplyResult& res)
{
    admin::SetReply r;
    r.ok = true;
    r.kext = bundle;
    r.previous_generation = previous_generation;
    r.generation = res.generation;
    r.config_hash = res.config_hash;
    r.changed = res.changed;
    return r;
}

} // namespace

std::string Daemon::managed_refusals(const nlohmann::json& values, std::vector<std::string>& errors) const
{
    const ManagedPrefs* managed = source_.managed();
    if (!managed)
        return "";
    for (const auto& [name, value] : values.items())
        if (managed->manages(name))
            errors.push_back(admin::managed_refusal(name, managed->domain));
    return errors.empty()
               ? ""
               : "nothing was changed: the organisation's profile " + managed->domain + " manages what was asked";
}

admin::SetReply Daemon::set(const admin::ChangeRequest& req)
{
    admin::SetReply r;
    if (!usable_values(req.values)) {
        r.error = "\"set\" needs \"values\": an object of tunable names and values";
        return r;
    }
    if (r.error = managed_refusals(req.values, r.errors); !r.error.empty())
        return r;
    const std::string bundle = source_.bundle();
    if (bundle.empty()) {
        r.error =
            "kextconfd has no configuration yet, so it does not know which kext to change; fix " + opts_.config_path;
        return r;
    }
    ApplyReport connect;
    auto kext = connect_for_apply(bundle, connect);
    if (!kext) {
        r.error = connect.failure.empty()
                      ? "kext " + bundle + " is not loaded (or is busy starting); nothing was changed"
                      : connect.failure;
        return r;
    }
    kc_state st{};
    if (auto e = kext->state(st)) {
        r.error = e.message;
        return r;
    }
    // The schema of the load the daemon follows is known; another load's is read.
    std::vector<proto::TunableDesc> read_schema;
    if (!session_.follows(bundle, st.load_id))
        if (auto e = kext->describe(read_schema)) {
            r.error = e.message;
            return r;
        }
    const auto& schema = session_.follows(bundle, st.load_id) ? session_.tunables() : read_schema;
    if (r.error = load_only_refusal(schema, req.values); !r.error.empty())
        return r;
    const auto valid = validate_assignments(bundle, req.values, schema, r.errors);
    if (!valid) {
        r.error = "nothing was changed";
        return r;
    }
    ApplyResult res;
    if (auto e = kext->apply(st.generation, valid->values, res)) {
        r.error = "the kext refused the change, nothing was changed: " + e.message;
        return r;
    }
    // The kext's "applied" event makes the daemon re-read it and report the
    // difference from the configuration in force as drift, as for `kextconfctl set`.
    logcat::kext().info("{}: set {} by admin request (transient): generation {} -> {}, {} changed", bundle,
                        values_text(req.values), st.generation, res.generation, res.changed);
    return set_reply(bundle, st.generation, res);
}

admin::PersistReply Daemon::persist(const admin::ChangeRequest& req)
{
    admin::PersistReply r;
    const std::string& path = source_.path();
    const auto refuse = [&](std::string error) {
        r.reload.error = std::move(error);
        return r;
    };
    if (!usable_values(req.values))
        return refuse("\"persist\" needs \"values\": an object of tunable names and values");
    if (auto why = managed_refusals(req.values, r.reload.errors); !why.empty())
        return refuse(why + "; " + path + " was left alone");
    std::vector<Diagnostic> diags;
    const auto file = load_config_file(path, diags);
    if (!file || !file->doc) {
        for (const auto& d : diags)
            r.reload.errors.push_back(d.str());
        return refuse(path + " is not usable, so it was left alone (fix it by hand)");
    }
    const ConfigDocument& doc = *file->doc;
    KextError err;
    auto kext = KextClient::connect(doc.kext, KextClient::Access::Query, err);
    std::vector<proto::TunableDesc> schema;
    if (!kext || (err = kext->describe(schema)))
        return refuse("cannot read the schema of " + doc.kext + " to check the values: " + err.message + "; " + path +
                      " was left alone");
    const auto edited = edit_config(file->text, doc, req.values, schema, path, r.reload.errors);
    if (!edited)
        return refuse(path + " was left alone");
    // An existing file keeps its mode and owner; a new one is 0644 like the installed one.
    if (const ReplaceResult w = replace_file_atomically(path, edited->text, 0644, /*keep_old_mode_and_owner=*/true))
        return refuse("cannot " + w.failed_step + ": " + w.ec.message() + "; " + path + " was left alone");
    logcat::config().info("{}: saved {} by admin request{}", path, values_text(req.values),
                          edited->kept_comments ? "" : " (rewritten whole)");
    r.saved = true;
    r.kept_comments = edited->kept_comments;
    r.reload = reload(/*forced=*/true);
    return r;
}

} // namespace kextconf
