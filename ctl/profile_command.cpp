// `profile [--from FILE] [--identifier ID] [--organization NAME] [--output
// FILE]`: a configuration profile (.mobileconfig) carrying a config file's
// kext and tunables to Macs through an MDM (kextconf/mobileconfig.hpp,
// docs/fleet.md). The values are checked against the kext's schema when the
// kext is loaded here.
#include "commands.hpp"

#include <kextconf/file.hpp>
#include <kextconf/mobileconfig.hpp>

#include <cstdio>
#include <iostream>

namespace kextconf::ctl {

namespace {

using nlohmann::json;

struct ProfileArgs {
    std::string from;
    std::string identifier = std::string(kManagedDomain) + ".profile";
    std::string organization;
    std::string output;
};

// Checks the values against the running kext's schema; a kext not loaded here is not an error.
int check_values(const Options& o, const ConfigDocument& doc)
{
    Options ko = o;
    ko.kext = doc.kext;
    KextError err;
    auto kext = open_query(ko, err);
    std::vector<proto::TunableDesc> schema;
    if (!kext || kext->describe(schema)) {
        std::fprintf(stderr, "note: %s is not loaded here, so the values were not checked against its schema\n",
                     doc.kext.c_str());
        return kExitOk;
    }
    std::vector<Diagnostic> diags;
    if (validate_config(doc, schema, diags))
        return kExitOk;
    std::string all;
    for (const auto& d : diags)
        all += "\n  " + d.str();
    return fail(o, kExitFailure, doc.file + " does not fit " + doc.kext + "; no profile was written:" + all);
}

int cmd_profile(const Options& o, const ProfileArgs& a)
{
    std::string path;
    if (int st = config_file_to_use(o, a.from.empty() ? o.config : a.from, "profile reads", "--from", path);
        st != kExitOk)
        return st;
    std::vector<Diagnostic> diags;
    const auto file = load_config_file(path, diags);
    if (!file || !file->doc) {
        std::string all;
        for (const auto& d : diags)
            all += "\n  " + d.str();
        return fail(o, kExitFailure, path + " is not usable; no profile was written:" + all);
    }
    const ConfigDocument& doc = *file->doc;
    if (int st = check_values(o, doc); st != kExitOk)
        return st;
    const MobileconfigOptions mo{a.identifier, a.organization, random_uuid(), random_uuid()};
    std::string error;
    const auto profile = make_mobileconfig(doc.kext, doc.tunables, mo, error);
    if (!profile)
        return fail(o, kExitFailure, path + ": " + error + "; no profile was written");
    if (a.output.empty()) {
        std::fputs(profile->c_str(), stdout);
        return kExitOk;
    }
    if (const ReplaceResult r = replace_file_atomically(a.output, *profile, 0644))
        return fail(o, kExitFailure, "cannot " + r.failed_step + ": " + r.ec.message());
    if (o.json)
        std::cout << json{{"profile", a.output}, {"from", path}, {"identifier", a.identifier}}.dump(2) << '\n';
    else
        std::printf("wrote %s (%s, from %s): upload it to your MDM and scope it to the Macs (docs/fleet.md)\n",
                    a.output.c_str(), a.identifier.c_str(), path.c_str());
    return kExitOk;
}

} // namespace

void add_profile_command(CLI::App& app, Options& o, Command& run)
{
    auto a = std::make_shared<ProfileArgs>();
    auto* p = add_command(app, run, "profile",
                          std::string("write a configuration profile (.mobileconfig, unsigned XML) that sets a config "
                                      "file's kext and tunables on Macs through an MDM: a com.apple.ManagedClient."
                                      "preferences payload forcing the domain ") +
                              kManagedDomain +
                              ", scoped to the System. The values are checked against the kext's schema "
                              "when it is loaded here",
                          [&o, a] { return cmd_profile(o, *a); });
    p->add_option("--from", a->from, "the config file to carry (default: --config, else the one kextconfd uses)");
    p->add_option("--identifier", a->identifier, "the profile's PayloadIdentifier (reverse DNS)")
        ->capture_default_str();
    p->add_option("--organization", a->organization, "the profile's PayloadOrganization, as the Mac shows it");
    p->add_option("-o,--output", a->output, "write the profile to this file (default: standard output)");
}

} // namespace kextconf::ctl
