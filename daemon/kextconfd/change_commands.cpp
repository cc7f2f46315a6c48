// Daemon: the admin socket's change commands for members of the admin group
// (admin_protocol.hpp): "set" (one transient transaction, like `kextconfctl
// set`) and "persist" (an edit of the config file, comments kept, then a
// reload, like `kextconfctl set --persist`). The daemon runs as root, so a
// member needs neither the privileged control nor write access to the file.
#include "daemon.hpp"

#include "config_edit.hpp"
#include "logging.hpp"
#include "value_text.hpp"
#include "values.hpp"

namespace kextconf {

namespace {

using nlohmann::json;

json refusal(const std::string& error, const std::vector<std::string>& errors = {})
{
    json r = {{"ok", false}, {"error", error}};
    if (!errors.empty())
        r["errors"] = errors;
    return r;
}

} // namespace

std::string Daemon::configured_kext() const
{
    return config_ ? config_->doc.kext : candidate_ ? candidate_->doc.kext : "";
}

json Daemon::set_json(const json& req)
{
    const auto values = req.find("values");
    if (values == req.end() || !values->is_object() || values->empty())
        return refusal("\"set\" needs \"values\": an object of tunable names and values");
    const std::string bundle = configured_kext();
    if (bundle.empty())
        return refusal("kextconfd has no configuration yet, so it does not know which kext to change; fix " +
                       opts_.config_path);
    KextError err;
    auto kext = KextClient::connect(bundle, KextClient::Access::Admin, err);
    if (!kext)
        return refusal(err.message);
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->describe(schema))
        return refusal(e.message);
    for (const auto& d : schema)
        if (values->contains(d.name) && (d.flags & KC_TF_LOAD_ONLY))
            return refusal("tunable \"" + d.name +
                           "\" is load-only: the kext reads it when it loads. Save it to the file instead, then "
                           "reload the kext");
    std::vector<std::string> errors;
    const auto valid = validate_assignments(bundle, *values, schema, errors);
    if (!valid)
        return refusal("nothing was changed", errors);
    kc_state st{};
    if (auto e = kext->state(st))
        return refusal(e.message);
    ApplyResult res;
    if (auto e = kext->apply(st.generation, valid->values, res))
        return refusal("the kext refused the change, nothing was changed: " + e.message);
    logcat::kext().info("{}: set {} by admin request (transient): generation {} -> {}, {} changed", bundle,
                        values->dump(-1, ' ', false, json::error_handler_t::replace), st.generation, res.generation,
                        res.changed);
    return {{"ok", true},
            {"kext", bundle},
            {"previous_generation", st.generation},
            {"generation", res.generation},
            {"config_hash", hash_hex(res.config_hash)},
            {"changed", res.changed}};
}

json Daemon::persist_json(const json& req)
{
    const auto values = req.find("values");
    if (values == req.end() || !values->is_object() || values->empty())
        return refusal("\"persist\" needs \"values\": an object of tunable names and values");
    std::vector<Diagnostic> diags;
    const auto text = read_config_file(opts_.config_path, diags);
    std::optional<ConfigDocument> doc;
    if (text)
        doc = parse_config(*text, opts_.config_path, diags);
    if (!doc || !diags.empty()) {
        std::vector<std::string> errors;
        for (const auto& d : diags)
            errors.push_back(d.str());
        return refusal(opts_.config_path + " is not usable, so it was left alone (fix it by hand)", errors);
    }
    KextError err;
    auto kext = KextClient::connect(doc->kext, KextClient::Access::Query, err);
    std::vector<proto::TunableDesc> schema;
    if (!kext || (err = kext->describe(schema)))
        return refusal("cannot read the schema of " + doc->kext + " to check the values: " + err.message + "; " +
                       opts_.config_path + " was left alone");
    std::vector<std::string> errors;
    const auto edited = edit_config(*text, *doc, *values, schema, opts_.config_path, errors);
    if (!edited)
        return refusal(opts_.config_path + " was left alone", errors);
    std::string what;
    if (auto ec = write_file_atomically(opts_.config_path, edited->text, what))
        return refusal("cannot " + what + ": " + ec.message() + "; " + opts_.config_path + " was left alone");
    logcat::config().info("{}: saved {} by admin request{}", opts_.config_path,
                          values->dump(-1, ' ', false, json::error_handler_t::replace),
                          edited->kept_comments ? "" : " (rewritten whole)");
    json reply = reload_json();
    reply["saved"] = true;
    reply["kept_comments"] = edited->kept_comments;
    return reply;
}

} // namespace kextconf
