#include "config_check.hpp"

#include "kext_client.hpp"

namespace kextconf {

ConfigCheck check_config_file(const std::string& path)
{
    ConfigCheck out;
    auto text = read_config_file(path, out.errors);
    std::optional<ConfigDocument> doc;
    if (text)
        doc = parse_config(*text, path, out.errors);
    if (!doc || !out.errors.empty())
        return out;
    out.kext = doc->kext;
    KextError err;
    auto kext = KextClient::connect(doc->kext, KextClient::Access::Query, err);
    if (!kext) {
        out.note = "syntax checked only; cannot validate values: " + err.message;
        return out;
    }
    std::vector<proto::TunableDesc> schema;
    if (auto e = kext->describe(schema)) {
        out.errors.push_back({path, 0, 0, e.message});
        return out;
    }
    validate_config(*doc, schema, out.errors);
    out.validated = true;
    return out;
}

} // namespace kextconf
