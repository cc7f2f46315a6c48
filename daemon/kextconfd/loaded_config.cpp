#include "loaded_config.hpp"

#include "kext_session.hpp"

#include <kextconf/values.hpp>

namespace kextconf {

const FittedValues& fit(LoadedConfig& config, const KextSession& session)
{
    if (config.fitted && config.fitted->bundle == session.bundle() && config.fitted->load_id == session.load_id())
        return *config.fitted;
    FittedValues f{session.bundle(), session.load_id(), {}, {}};
    const auto validated = validate_config(config.doc, session.tunables(), f.errors);
    if (validated && f.errors.empty())
        f.values = desired_values(session.tunables(), validated->values);
    config.fitted = std::move(f);
    return *config.fitted;
}

} // namespace kextconf
