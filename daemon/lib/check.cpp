#include <kextconf/check.hpp>

#include <kextconf/config_loader.hpp>
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

void print_errors(const std::vector<Diagnostic>& errors)
{
    for (const auto& d : errors)
        std::fprintf(stderr, "%s\n", d.str().c_str());
}

// The schema to check against and a sentence naming it; no schema (syntax
// only) is not an error, a broken or mismatched one is.
struct ChosenSchema {
    std::optional<KextSchema> schema;
    std::string source;
    bool failed = false;
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

ChosenSchema choose_schema(const CheckOptions& o, const ConfigDocument& doc)
{
    ChosenSchema out;
    auto from_file = [&](const std::string& path, const char* what) {
        std::vector<Diagnostic> errors;
        out.schema = load_schema_file(path, errors);
        if (!out.schema) {
            print_errors(errors);
            std::fprintf(stderr, "%s: error: cannot use %s %s (errors above)\n", o.config_path.c_str(), what,
                         path.c_str());
            out.failed = true;
            return;
        }
        out.source = std::string(what) + " " + path + " (" + describe_schema(*out.schema) + ")";
    };
    if (!o.schema_path.empty()) {
        from_file(o.schema_path, "the schema file");
    } else {
        KextError err;
        auto kext = KextClient::connect(doc.kext, KextClient::Access::Query, err);
        const bool absent = err.ec == std::errc::no_such_file_or_directory || err.ec == std::errc::connection_refused;
        if (!kext && !absent) {
            // Loaded but unusable (a protocol mismatch, say): not a case for an old schema.
            std::fprintf(stderr, "%s: error: %s\n", o.config_path.c_str(), err.message.c_str());
            out.failed = true;
            return out;
        }
        if (kext) {
            KextSchema s;
            if (auto e = read_kext_schema(*kext, s)) {
                std::fprintf(stderr, "%s: error: reading the schema of %s: %s\n", o.config_path.c_str(),
                             doc.kext.c_str(), e.message.c_str());
                out.failed = true;
                return out;
            }
            out.source = "the running kext " + describe_schema(s);
            out.schema = std::move(s);
        } else if (const std::string saved = o.state_dir + "/" + kSchemaFile; exists(saved)) {
            from_file(saved, "the schema kextconfd saved in");
            if (out.schema)
                out.source += "; " + doc.kext + " is not loaded: " + err.message;
        } else {
            out.source = "none: syntax and structure only, values not checked (" + err.message +
                         "; to check the values without the kext give --schema FILE, from `kextconfctl schema`)";
            return out;
        }
    }
    if (out.schema && out.schema->bundle_id != doc.kext) {
        std::fprintf(stderr, "%s: error: the schema is for %s but the file configures \"%s\" (%s)\n",
                     o.config_path.c_str(), out.schema->bundle_id.c_str(), doc.kext.c_str(), out.source.c_str());
        out.failed = true;
    }
    return out;
}

// Reads and parses the file; nullopt (errors printed, the count on
// `verdict`) if unusable.
std::optional<ConfigDocument> load(const CheckOptions& o, std::FILE* verdict)
{
    std::vector<Diagnostic> errors;
    auto text = read_config_file(o.config_path, errors);
    std::optional<ConfigDocument> doc;
    if (text)
        doc = parse_config(*text, o.config_path, errors);
    if (!doc || !errors.empty()) {
        print_errors(errors);
        std::fprintf(verdict, "%s: %zu error%s\n", o.config_path.c_str(), errors.size(), errors.size() == 1 ? "" : "s");
        return std::nullopt;
    }
    return doc;
}

} // namespace

int check_config(const CheckOptions& o)
{
    const auto doc = load(o, stdout);
    if (!doc)
        return 1;
    const ChosenSchema chosen = choose_schema(o, *doc);
    if (chosen.failed)
        return 1;
    if (chosen.schema) {
        std::vector<Diagnostic> errors;
        validate_config(*doc, chosen.schema->tunables, errors);
        if (!errors.empty()) {
            print_errors(errors);
            std::fprintf(stdout, "%s: %zu error%s (schema: %s)\n", o.config_path.c_str(), errors.size(),
                         errors.size() == 1 ? "" : "s", chosen.source.c_str());
            return 1;
        }
    }
    std::printf("%s: OK (schema: %s)\n", o.config_path.c_str(), chosen.source.c_str());
    return 0;
}

int print_config(const CheckOptions& o)
{
    const auto doc = load(o, stderr);
    if (!doc)
        return 1;
    const ChosenSchema chosen = choose_schema(o, *doc);
    if (chosen.failed)
        return 1;
    nlohmann::json tunables = doc->tunables;
    if (chosen.schema) {
        std::vector<Diagnostic> errors;
        const auto validated = validate_config(*doc, chosen.schema->tunables, errors);
        if (!validated || !errors.empty()) {
            print_errors(errors);
            std::fprintf(stderr, "%s: %zu error%s (schema: %s)\n", o.config_path.c_str(), errors.size(),
                         errors.size() == 1 ? "" : "s", chosen.source.c_str());
            return 1;
        }
        const auto& schema = chosen.schema->tunables;
        const auto values = desired_values(schema, validated->values);
        tunables = nlohmann::json::object();
        for (std::size_t i = 0; i < schema.size(); ++i)
            tunables[schema[i].name] = value_to_json(schema[i], values[i]);
    }
    std::fprintf(stderr, "%s: effective configuration (schema: %s)\n", o.config_path.c_str(), chosen.source.c_str());
    std::cout << nlohmann::json{{"kext", doc->kext}, {"tunables", tunables}}.dump(2) << '\n';
    return 0;
}

} // namespace kextconf
