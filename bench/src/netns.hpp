// A private network namespace for the sysctl and nft baselines: net.*
// sysctls and nftables rulesets are per namespace, so the baselines change
// nothing on the machine. Held open by a sleeping `unshare -n` child;
// children enter it with SpawnOptions::netns.
#pragma once

#include "figures.hpp"

#include <memory>
#include <string>
#include <vector>

namespace kcbench {

class NetNamespace {
public:
    struct Setting {
        std::string name; // net.ipv4.conf.lo.accept_redirects
        long value;       // as found
        long alt;         // another value the kernel accepts
    };

    NetNamespace();
    const std::string& path() const { return path_; }
    // The first n writable integer net.* sysctls of the namespace, each
    // checked to take its alternative value (throws if there are fewer).
    std::vector<Setting> settings(std::size_t n) const;
    // A sysctl.conf: every setting at its alt value (or its found value).
    static std::string sysctl_file(const std::vector<Setting>& s, bool alt);

private:
    std::unique_ptr<Process> holder_;
    std::string path_;
    mutable std::vector<Setting> found_;
};

} // namespace kcbench
