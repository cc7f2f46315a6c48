#include "loaded_config.hpp"

#include "kext_session.hpp"

#include <kextconf/values.hpp>

#include <cstddef>

namespace kextconf {

namespace {

using Assignments = std::vector<std::pair<std::uint32_t, proto::Value>>;

// `values` laid over `f`'s, each tunable they set marked as from `source`.
void lay_over(const std::vector<proto::TunableDesc>& schema, Assignments& values, admin::ValueSource source,
              FittedValues& f)
{
    for (auto& [index, v] : values)
        if (const proto::TunableDesc* d = find_desc(schema, index)) {
            const auto i = static_cast<std::size_t>(d - schema.data());
            f.values[i] = std::move(v);
            f.sources[i] = source;
        }
}

} // namespace

const FittedValues& fit(LoadedConfig& config, const KextSession& session)
{
    if (config.fitted && config.fitted->bundle == session.bundle() && config.fitted->load_id == session.load_id())
        return *config.fitted;
    const std::vector<proto::TunableDesc>& schema = session.tunables();
    FittedValues f{session.bundle(), session.load_id(), {}, {}, {}};
    auto validated = validate_config(config.doc, schema, f.errors);
    std::optional<ValidatedConfig> managed;
    if (config.managed)
        managed = validate_managed(*config.managed, schema, f.errors);
    if (validated && f.errors.empty()) {
        // Every tunable in schema order: the profile's value, else the
        // file's, else the kext's default.
        f.values.reserve(schema.size());
        for (const auto& d : schema)
            f.values.push_back(d.def);
        f.sources.assign(schema.size(), admin::ValueSource::Default);
        lay_over(schema, validated->values, admin::ValueSource::File, f);
        if (managed)
            lay_over(schema, managed->values, admin::ValueSource::Managed, f);
    }
    config.fitted = std::move(f);
    return *config.fitted;
}

} // namespace kextconf
