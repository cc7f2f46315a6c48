// The reference kext as the process-level benchmarks reach it: through the
// client library, on a host already booted (KEXTSIM_ROOT). Each throws
// std::runtime_error saying what failed, which the bench reports.
#pragma once

#include "figures.hpp"
#include <kextconf/kext_client.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace kcbench {

inline std::unique_ptr<kextconf::KextClient> connect_reference(kextconf::KextClient::Access access)
{
    kextconf::KextError err;
    auto k = kextconf::KextClient::connect(kReferenceBundleId, access, err);
    if (!k)
        throw std::runtime_error(std::string(access == kextconf::KextClient::Access::Admin ? "admin" : "query") +
                                 " connect: " + err.message);
    return k;
}

inline std::vector<kextconf::proto::TunableDesc> describe_reference(kextconf::KextClient& k)
{
    std::vector<kextconf::proto::TunableDesc> schema;
    if (auto e = k.describe(schema))
        throw std::runtime_error(e.message);
    return schema;
}

inline const kextconf::proto::TunableDesc& tunable_named(const std::vector<kextconf::proto::TunableDesc>& schema,
                                                         const std::string& name)
{
    for (const auto& d : schema)
        if (d.name == name)
            return d;
    throw std::runtime_error("the reference kext has no " + name);
}

} // namespace kcbench
