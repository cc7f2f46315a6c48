// The configuration check (check.hpp): a CheckReport, rendered by the callers.
#include <kextconf/check.hpp>

#include <kextconf/config_loader.hpp>
#include <kextconf/defaults.hpp>
#include <kextconf/kext_client.hpp>
#include <kextconf/schema.hpp>
#include <kextconf/state_dir.hpp>
#include <kextconf/values.hpp>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <sys/stat.h>

namespace kextconf {

namespace {

using nlohmann::json;

// The schema to check against and a sentence naming it. No schema is not an
// error (the report says the values were not checked); a broken or
// mismatched one is.
struct ChosenSchema {
    std::optional<KextSchema> schema;
    std::string source;
    bool kext_absent = false; // the file's kext is not loaded
};

std::string describe_schema(const KextSchema& s)
{
    return s.bundle_id + " " + (s.kext_version.empty() ? "(version unknown)" : s.kext_version);
}

bool exists(const std::string& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 || errno != ENOENT;
}

// An error about the file as a whole (line 0): the schema, the kext.
void whole_file_error(CheckReport& r, std::string message)
{
    r.errors.push_back({r.file, 0, 0, std::move(message)});
}

void use_schema_file(const std::string& path, const char* what, ChosenSchema& out, CheckReport& r)
{
    std::vector<Diagnostic> errors;
    out.schema = load_schema_file(path, errors);
    if (!out.schema) {
        r.errors.insert(r.errors.end(), errors.begin(), errors.end());
        whole_file_error(r, std::string("cannot use ") + what + " " + path + " (errors above)");
        return;
    }
    out.source = std::string(what) + " " + path + " (" + describe_schema(*out.schema) + ")";
}

// Asks the running kext; false (errors on `r`) if it is loaded but unusable.
bool use_running_kext(const ConfigDocument& doc, ChosenSchema& out, CheckReport& r, std::string& why_not)
{
    KextError err;
    auto kext = KextClient::connect(doc.kext, KextClient::Access::Query, err);
    if (!kext) {
        out.kext_absent = err.ec == std::errc::no_such_file_or_directory || err.ec == std::errc::connection_refused;
        if (!out.kext_absent) // loaded but unusable (a protocol mismatch, say): not a case for an old schema
            whole_file_error(r, err.message);
        why_not = err.message;
        return out.kext_absent;
    }
    KextSchema s;
    if (auto e = read_kext_schema(*kext, s)) {
        whole_file_error(r, "reading the schema of " + doc.kext + ": " + e.message);
        return false;
    }
    out.source = "the running kext " + describe_schema(s);
    out.schema = std::move(s);
    return true;
}

ChosenSchema choose_schema(const CheckOptions& o, const ConfigDocument& doc, CheckReport& r)
{
    ChosenSchema out;
    if (!o.schema_path.empty()) {
        use_schema_file(o.schema_path, "the schema file", out, r);
    } else {
        std::string why_not;
        if (!use_running_kext(doc, out, r, why_not) || out.schema)
            return out;
        if (const std::string saved = o.state_dir + "/" + kSchemaFile; exists(saved)) {
            use_schema_file(saved, "the schema kextconfd saved in", out, r);
            if (out.schema)
                out.source += "; " + doc.kext + " is not loaded: " + why_not;
        } else {
            out.source = "none (" + why_not + ")";
            return out;
        }
    }
    if (out.schema && out.schema->bundle_id != doc.kext)
        whole_file_error(r, "the schema is for " + out.schema->bundle_id + " but the file configures \"" + doc.kext +
                                "\" (" + out.source + ")");
    return out;
}

// The bundle ids this host knows of, for a did-you-mean: the reference
// kext's (kextconf/defaults.hpp) and the one whose schema kextconfd saved.
std::vector<std::string> known_bundle_ids(const CheckOptions& o)
{
    std::vector<std::string> ids{KEXTCONF_DEFAULT_KEXT};
    std::vector<Diagnostic> ignored;
    if (const std::string saved = o.state_dir + "/" + kSchemaFile; exists(saved))
        if (auto s = load_schema_file(saved, ignored))
            ids.push_back(s->bundle_id);
    return ids;
}

// Reads and parses the file; nullopt (errors on `r`) if unusable.
std::optional<ConfigDocument> load(const CheckOptions& o, CheckReport& r)
{
    auto file = load_config_file(o.config_path, r.errors);
    if (!file || !file->doc)
        return std::nullopt;
    return std::move(file->doc);
}

// The file's values over the schema's defaults, by name.
json effective_tunables(const KextSchema& schema, const ValidatedConfig& validated)
{
    const auto values = desired_values(schema.tunables, validated.values);
    json tunables = json::object();
    for (std::size_t i = 0; i < schema.tunables.size(); ++i)
        tunables[schema.tunables[i].name] = value_to_json(schema.tunables[i], values[i]);
    return tunables;
}

} // namespace

CheckReport check_config(const CheckOptions& o)
{
    CheckReport r;
    r.file = o.config_path;
    const auto doc = load(o, r);
    if (!doc)
        return r;
    if (o.syntax_only) {
        r.verdict = CheckReport::Verdict::SyntaxOnly;
        r.schema = "none: syntax and structure only (--syntax-only)";
        return r;
    }
    const ChosenSchema chosen = choose_schema(o, *doc, r);
    r.schema = chosen.source;
    if (chosen.kext_absent && !chosen.schema)
        if (const std::string near = suggest(doc->kext, known_bundle_ids(o)); !near.empty() && near != doc->kext)
            r.did_you_mean = near;
    if (!r.errors.empty())
        return r;
    if (!chosen.schema) {
        r.verdict = CheckReport::Verdict::Unchecked;
        return r;
    }
    validate_config(*doc, chosen.schema->tunables, r.errors);
    r.verdict = r.errors.empty() ? CheckReport::Verdict::Valid : CheckReport::Verdict::Invalid;
    return r;
}

int exit_status(const CheckReport& r)
{
    switch (r.verdict) {
    case CheckReport::Verdict::Valid:
    case CheckReport::Verdict::SyntaxOnly: return kExitValid;
    case CheckReport::Verdict::Unchecked: return kExitUnchecked;
    case CheckReport::Verdict::Invalid: break;
    }
    return kExitInvalid;
}

std::string diagnostics_text(const CheckReport& r)
{
    std::string out;
    for (const auto& d : r.errors)
        out += d.str() + "\n";
    return out;
}

std::string verdict_text(const CheckReport& r)
{
    const std::string schema = r.schema.empty() ? "" : " (schema: " + r.schema + ")";
    const std::string hint = r.did_you_mean.empty() ? "" : "; did you mean \"" + r.did_you_mean + "\"?";
    switch (r.verdict) {
    case CheckReport::Verdict::Valid:
    case CheckReport::Verdict::SyntaxOnly: return r.file + ": OK" + schema;
    case CheckReport::Verdict::Unchecked:
        return r.file + ": syntax and structure OK, values NOT checked" + schema + hint +
               "; to check them without the kext give --schema FILE (from `kextconfctl schema`); --syntax-only "
               "checks no more than syntax and exits 0";
    case CheckReport::Verdict::Invalid: break;
    }
    const std::size_t n = r.errors.size();
    return r.file + ": " + counted(n, "error") + schema + hint;
}

json to_json(const CheckReport& r)
{
    static constexpr const char* kVerdicts[] = {"valid", "syntax-only", "unchecked", "invalid"};
    json errors = json::array();
    for (const auto& d : r.errors)
        errors.push_back({{"file", d.file}, {"line", d.line}, {"col", d.col}, {"message", d.message}});
    json out{{"file", r.file},
             {"ok", exit_status(r) == kExitValid},
             {"verdict", kVerdicts[static_cast<int>(r.verdict)]},
             {"values_checked", r.verdict == CheckReport::Verdict::Valid},
             {"schema", r.schema},
             {"errors", std::move(errors)},
             {"exit_status", exit_status(r)}};
    if (!r.did_you_mean.empty())
        out["did_you_mean"] = r.did_you_mean;
    return out;
}

int print_config(const CheckOptions& o)
{
    CheckReport r;
    r.file = o.config_path;
    const auto doc = load(o, r);
    ChosenSchema chosen;
    std::optional<ValidatedConfig> validated;
    if (doc)
        chosen = choose_schema(o, *doc, r);
    if (doc && r.errors.empty() && chosen.schema)
        validated = validate_config(*doc, chosen.schema->tunables, r.errors);
    r.schema = chosen.source;
    if (!r.errors.empty()) {
        std::fputs(diagnostics_text(r).c_str(), stderr);
        std::fprintf(stderr, "%s\n", verdict_text(r).c_str());
        return kExitInvalid;
    }
    const json tunables = validated ? effective_tunables(*chosen.schema, *validated) : doc->tunables;
    std::fprintf(stderr, "%s: effective configuration (schema: %s)\n", o.config_path.c_str(), chosen.source.c_str());
    std::cout << json{{"kext", doc->kext}, {"tunables", tunables}}.dump(2) << '\n';
    return kExitValid;
}

} // namespace kextconf
