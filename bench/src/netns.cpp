#include "netns.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace kcbench {

namespace {

std::string ns_link(const std::string& path)
{
    char buf[128] = {};
    const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// Finds integer net.* sysctls that take another value: 0 <-> 1, else v+1.
// Skips those that cascade into others (forwarding, disable_ipv6) so each
// line of the file is exactly one setting.
constexpr const char* kDiscover = R"(cd /proc/sys || exit 1
find net -type f -perm -u+w | sort | while read -r f; do
  case "$f" in *forwarding*|*disable_ipv6*|*disable_policy*) continue;; esac
  v=$(cat "$f" 2>/dev/null) || continue
  case "$v" in ''|*[!0-9]*) continue;; esac
  if [ "$v" = 0 ]; then n=1; elif [ "$v" = 1 ]; then n=0; else n=$((v+1)); fi
  echo "$n" > "$f" 2>/dev/null || continue
  r=$(cat "$f"); echo "$v" > "$f" 2>/dev/null
  [ "$r" = "$n" ] || continue
  echo "$(echo "$f" | tr / .) $v $n"
done)";

} // namespace

NetNamespace::NetNamespace()
{
    const std::string ours = ns_link("/proc/self/ns/net");
    holder_ = std::make_unique<Process>(std::vector<std::string>{"/usr/bin/unshare", "-n", "/bin/sleep", "100000"});
    path_ = "/proc/" + std::to_string(holder_->pid()) + "/ns/net";
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (ns_link(path_) == ours || ns_link(path_).empty()) {
        if (Clock::now() > deadline)
            throw std::runtime_error("unshare -n did not make a network namespace (needs root)");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

std::vector<NetNamespace::Setting> NetNamespace::settings(std::size_t n) const
{
    if (found_.empty()) {
        TempDir dir;
        const std::string out = dir.file("found");
        Process c({"/bin/sh", "-c", std::string(kDiscover) + " > " + out}, SpawnOptions{{}, false, path_});
        if (!c.wait(120s) || c.exit_code() != 0)
            throw std::runtime_error("listing net.* sysctls failed: " + c.describe());
        std::ifstream f(out);
        Setting s;
        while (f >> s.name >> s.value >> s.alt)
            found_.push_back(s);
    }
    if (found_.size() < n)
        throw std::runtime_error("the namespace has only " + std::to_string(found_.size()) +
                                 " settable integer net.* sysctls, " + std::to_string(n) + " wanted");
    return {found_.begin(), found_.begin() + static_cast<long>(n)};
}

std::string NetNamespace::sysctl_file(const std::vector<Setting>& s, bool alt)
{
    std::ostringstream out;
    for (const auto& x : s)
        out << x.name << " = " << (alt ? x.alt : x.value) << "\n";
    return out.str();
}

} // namespace kcbench
