// The sysctl and logging test kext (tests/kexts/sysctl) for kextsim's sysctl
// and log tests: where its bundle is and a host with it loaded. (A host that
// is expected to panic is a DyingHost, process.hpp.)
#pragma once

#include "process.hpp"
#include "sysctl_actions.h"

#include <cstdlib>
#include <string>

namespace kctest {

inline std::string sysctl_kext_bundle()
{
    const char* env = std::getenv("KEXTCONF_SYSCTL_KEXT_BUNDLE");
    return env != nullptr && *env != '\0' ? env : KEXTCONF_TEST_SYSCTL_KEXT_BUNDLE;
}

// `kextsim sysctl debug.kxstest.action=N` against the host at `root`.
inline Result kxstest_action(const std::string& root, int action, bool as_nobody = false)
{
    return run({bin_path("kextsim"), "sysctl", std::string(KXSTEST_NODE) + ".action=" + std::to_string(action)},
               SpawnOptions{{{"KEXTSIM_ROOT", root}}, as_nobody});
}

// A KextsimHost (no reference kext) with the test kext loaded by
// `kextsim load`; check ready().
class SysctlKextHost {
public:
    SysctlKextHost() : host_(false)
    {
        if (!host_.ready())
            return;
        load_ = host_.kextsim({"load", sysctl_kext_bundle()});
    }
    ::testing::AssertionResult ready() const
    {
        if (auto r = host_.ready(); !r)
            return r;
        if (load_.exit_code != 0)
            return ::testing::AssertionFailure() << "kextsim load failed: " << load_.describe();
        return ::testing::AssertionSuccess();
    }
    KextsimHost& host() { return host_; }
    const std::string& root() const { return host_.root(); }
    Result kextsim(const std::vector<std::string>& args, bool as_nobody = false) const
    {
        std::vector<std::string> argv{bin_path("kextsim")};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(std::move(argv), SpawnOptions{host_.env(), as_nobody});
    }
    // The host's stderr so far (its kernel log lines among it).
    std::string err() { return host_.process().err(); }

private:
    KextsimHost host_;
    Result load_;
};

} // namespace kctest
