// `kextsim sysctl` and `kextsim log`: the kernel's user-facing services of a
// running `kextsim boot`, as sysctl(8) and log(1) show them on macOS.
#pragma once

#include <string>
#include <vector>

namespace kextsim::cli {

// kextsim sysctl -a | NAME[=VALUE]...; returns the exit status (0, 1, or 2
// on a usage error after printing why).
int sysctl_command(const std::vector<std::string>& args);
// kextsim log [--follow]; returns the exit status.
int log_command(const std::vector<std::string>& args);

} // namespace kextsim::cli
