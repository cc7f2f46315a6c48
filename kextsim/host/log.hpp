// The kernel log: what kexts write with os_log*, printf and IOLog. Each line
// is attributed to a kext (current_kext(): set while a kext's start/stop,
// control callbacks or sysctl handlers run) or to "kernel", printed to the
// host's stderr as `kext[<bundle-id>] <level>: <text>`, kept in a ring of the
// last kRingLines lines, and sent to followers (`kextsim log --follow`).
//
// Threading: any thread. One mutex guards the ring, the kext names and the
// followers; it is held while a line is printed and sent, so every reader
// sees lines in the same order. Sends to followers never block: a follower
// that does not keep up loses lines and is told how many.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kextsim {

struct LogFollower {
    int data_fd = -1;          // host end of the follower's SOCK_SEQPACKET channel
    std::uint64_t dropped = 0; // lines lost since the last one delivered
    bool gone = false;         // the reader went away: stop sending
};

class KernelLog {
public:
    // Lines kept for `kextsim log` (about 1 MiB at most).
    static constexpr std::size_t kRingLines = 1000;

    KernelLog() = default;
    ~KernelLog();
    KernelLog(const KernelLog&) = delete;
    KernelLog& operator=(const KernelLog&) = delete;

    // Names load index `index` (see KextLoader) for attribution; kept for
    // the host's life, so a line logged late still finds its kext.
    void name_kext(int index, const std::string& bundle_id);
    // The bundle id of load index `index`, or "kernel".
    std::string kext_name(int index);

    // One os_log type (OS_LOG_TYPE_*) and message from the kernel domain,
    // attributed to current_kext(). Trailing newlines are dropped; an empty
    // message is not logged.
    void append(int level, const std::string& text);

    // The ring, oldest first.
    std::vector<std::string> lines();
    // Starts sending every new line to data_fd (which the log now owns) and
    // returns the ring as it was at that moment, so nothing is missed or
    // repeated between the two.
    std::shared_ptr<LogFollower> follow(int data_fd, std::vector<std::string>& backlog);
    // Stops sending and closes the follower's descriptor.
    void unfollow(const std::shared_ptr<LogFollower>& follower);

    static const char* level_name(int level);

private:
    void send_locked(LogFollower& f, const std::string& line);

    std::mutex m_;
    std::deque<std::string> ring_;
    std::map<int, std::string> names_;
    std::vector<std::shared_ptr<LogFollower>> followers_;
};

} // namespace kextsim
