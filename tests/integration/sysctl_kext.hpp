// The sysctl and logging test kext (tests/kexts/sysctl) for kextsim's sysctl
// and log tests: where its bundle is, a host with it loaded, and a host that
// is expected to panic.
#pragma once

#include "process.hpp"
#include "sysctl_actions.h"

#include <cstdlib>
#include <memory>
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

// `kextsim boot --load KextsimSysctlTest.kext` that a test expects to die:
// no exit-status check on the way out, and `ulimit -c 0` so the expected
// abort leaves no core file.
class PanickingHost {
public:
    PanickingHost()
    {
        const std::string cmd = "ulimit -c 0; exec \"$0\" boot --load \"$1\"";
        proc_ = std::make_unique<Process>(
            std::vector<std::string>{"/bin/sh", "-c", cmd, bin_path("kextsim"), sysctl_kext_bundle()},
            SpawnOptions{{{"KEXTSIM_ROOT", dir_.path()}}, false});
    }
    const std::string& root() const { return dir_.path(); }
    ::testing::AssertionResult ready()
    {
        const bool up = wait_until(
            [&] {
                const Result r = run({bin_path("kextsim"), "showloaded"}, SpawnOptions{{{"KEXTSIM_ROOT", root()}}});
                return r.out.find(KXSTEST_BUNDLE_ID) != std::string::npos || !proc_->running();
            },
            5000ms);
        if (up && proc_->running())
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "sysctl test kext not loaded: " << proc_->describe();
    }
    // Waits for the host to end; what it left.
    Result end()
    {
        proc_->wait(10000ms);
        return proc_->result();
    }

private:
    TempDir dir_;
    std::unique_ptr<Process> proc_;
};

// The "kextsim: panic: ..." line of a dead host's stderr.
inline std::string panic_message(const Result& r)
{
    const auto at = r.err.find("kextsim: panic: ");
    return at == std::string::npos ? std::string() : r.err.substr(at, r.err.find('\n', at) - at);
}

} // namespace kctest
