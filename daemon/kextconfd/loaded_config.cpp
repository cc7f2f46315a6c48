#include "loaded_config.hpp"

#include "kext_session.hpp"

#include <kextconf/values.hpp>

#include <algorithm>

namespace kextconf {

namespace {

using Assignments = std::vector<std::pair<std::uint32_t, proto::Value>>;

bool assigns(const Assignments& a, std::uint32_t index)
{
    return std::any_of(a.begin(), a.end(), [index](const auto& e) { return e.first == index; });
}

// The profile's values over the file's, and each tunable's source in schema order.
void lay_over(const std::vector<proto::TunableDesc>& schema, Assignments& file, Assignments& managed,
              std::vector<admin::ValueSource>& sources)
{
    sources.clear();
    for (const auto& d : schema)
        sources.push_back(assigns(managed, d.index) ? admin::ValueSource::Managed
                          : assigns(file, d.index)  ? admin::ValueSource::File
                                                    : admin::ValueSource::Default);
    for (auto& [index, v] : managed) {
        const auto it = std::find_if(file.begin(), file.end(), [i = index](const auto& e) { return e.first == i; });
        if (it != file.end())
            it->second = std::move(v);
        else
            file.emplace_back(index, std::move(v));
    }
    std::sort(file.begin(), file.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

} // namespace

const FittedValues& fit(LoadedConfig& config, const KextSession& session)
{
    if (config.fitted && config.fitted->bundle == session.bundle() && config.fitted->load_id == session.load_id())
        return *config.fitted;
    FittedValues f{session.bundle(), session.load_id(), {}, {}, {}};
    auto validated = validate_config(config.doc, session.tunables(), f.errors);
    std::optional<ValidatedConfig> managed;
    if (config.managed)
        managed = validate_managed(*config.managed, session.tunables(), f.errors);
    if (validated && f.errors.empty()) {
        Assignments none;
        lay_over(session.tunables(), validated->values, managed ? managed->values : none, f.sources);
        f.values = desired_values(session.tunables(), validated->values);
    }
    config.fitted = std::move(f);
    return *config.fitted;
}

} // namespace kextconf
