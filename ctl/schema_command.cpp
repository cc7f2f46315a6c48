// `schema`: the running kext's tunables as a JSON Schema document
// (daemon/lib/schema.hpp), for editors and `kextconfd --check --schema`.
#include "commands.hpp"

#include <kextconf/schema.hpp>

#include <fstream>
#include <iostream>

namespace kextconf::ctl {

namespace {

int cmd_schema(const Options& o, const std::string& out_path)
{
    KextError err;
    auto kext = open_query(o, err);
    if (!kext)
        return fail(o, err);
    KextSchema schema;
    if (auto e = read_kext_schema(*kext, schema))
        return fail(o, e);
    const std::string text = schema_to_json(schema).dump(2) + "\n";
    if (out_path.empty() || out_path == "-") {
        std::cout << text;
        return kExitOk;
    }
    std::ofstream out(out_path, std::ios::trunc);
    out << text;
    out.close();
    if (!out)
        return fail(o, kExitFailure, "cannot write " + out_path);
    if (!o.json)
        std::fprintf(stderr, "kextconfctl: wrote the schema of %s %s to %s\n", o.kext.c_str(),
                     schema.kext_version.c_str(), out_path.c_str());
    return kExitOk;
}

} // namespace

void add_schema_command(CLI::App& app, Options& o, Command& run)
{
    auto path = std::make_shared<std::string>();
    auto* schema =
        add_command(app, run, "schema",
                    "the running kext's tunables as a JSON Schema document (always JSON), for editors and for "
                    "kextconfd --check --schema FILE when the kext is not loaded",
                    [&o, path] { return cmd_schema(o, *path); });
    schema->add_option("-o,--output", *path, "write it to this file instead of stdout");
}

} // namespace kextconf::ctl
