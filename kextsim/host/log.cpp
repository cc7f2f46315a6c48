#include "log.hpp"

#include "host.hpp"
#include "kxs_abi.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kextsim {

namespace {
// A kernel log never blocks the kext that logs: when the host's stderr is a
// pipe its reader does not drain (a test harness that reads it only on
// failure), a line that would block is left out of stderr. It stays in the
// ring (`kextsim log`), and the next line written says how many were left out.
void echo_to_stderr(const std::string& line)
{
    static const bool fifo = [] {
        struct stat st {};
        return ::fstat(STDERR_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
    }();
    static std::uint64_t skipped = 0; // under KernelLog::m_
    if (fifo) {
        pollfd p{STDERR_FILENO, POLLOUT, 0};
        if (::poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0) {
            ++skipped;
            return;
        }
        if (skipped != 0) {
            std::fprintf(stderr, "kextsim: %llu kernel log lines left out of stderr (pipe full; see kextsim log)\n",
                         static_cast<unsigned long long>(skipped));
            skipped = 0;
        }
    }
    std::fprintf(stderr, "%s\n", line.c_str());
}
} // namespace

KernelLog::~KernelLog()
{
    for (auto& f : followers_)
        if (f->data_fd >= 0)
            ::close(f->data_fd);
}

void KernelLog::name_kext(int index, const std::string& bundle_id)
{
    std::lock_guard lock(m_);
    names_[index] = bundle_id;
}

std::string KernelLog::kext_name(int index)
{
    std::lock_guard lock(m_);
    auto it = names_.find(index);
    return it == names_.end() ? std::string("kernel") : it->second;
}

const char* KernelLog::level_name(int level)
{
    // OS_LOG_TYPE_* values (shared/reference/xnu-kpi.md section 9).
    switch (level) {
    case 0x01: return "info";
    case 0x02: return "debug";
    case 0x10: return "error";
    case 0x11: return "fault";
    default: return "default";
    }
}

void KernelLog::append(int level, const std::string& text)
{
    std::size_t end = text.size();
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r'))
        --end;
    if (end == 0)
        return;
    const int kext = current_kext();
    std::lock_guard lock(m_);
    auto it = names_.find(kext);
    const std::string line = "kext[" + (it == names_.end() ? std::string("kernel") : it->second) + "] " +
                             level_name(level) + ": " + text.substr(0, end);
    echo_to_stderr(line);
    if (ring_.size() == kRingLines)
        ring_.pop_front();
    ring_.push_back(line);
    for (auto& f : followers_)
        send_locked(*f, line);
}

void KernelLog::send_locked(LogFollower& f, const std::string& line)
{
    if (f.gone)
        return;
    auto send = [&](const std::string& s) {
        if (::send(f.data_fd, s.data(), s.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
            return true;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
            f.gone = true;
        return false;
    };
    if (f.dropped != 0) {
        if (!send("kextsim: " + std::to_string(f.dropped) + " log lines dropped (the reader fell behind)")) {
            ++f.dropped;
            return;
        }
        f.dropped = 0;
    }
    if (!send(line))
        ++f.dropped;
}

std::vector<std::string> KernelLog::lines()
{
    std::lock_guard lock(m_);
    return {ring_.begin(), ring_.end()};
}

std::shared_ptr<LogFollower> KernelLog::follow(int data_fd, std::vector<std::string>& backlog)
{
    auto f = std::make_shared<LogFollower>();
    f->data_fd = data_fd;
    std::lock_guard lock(m_);
    backlog.assign(ring_.begin(), ring_.end());
    followers_.push_back(f);
    return f;
}

void KernelLog::unfollow(const std::shared_ptr<LogFollower>& follower)
{
    std::lock_guard lock(m_);
    auto it = std::find(followers_.begin(), followers_.end(), follower);
    if (it == followers_.end())
        return;
    followers_.erase(it);
    if (follower->data_fd >= 0)
        ::close(follower->data_fd);
    follower->data_fd = -1;
}

} // namespace kextsim

// ---- the table: logging and attribution ----

extern "C" void kxs_host_log(int level, const char* msg)
{
    kextsim::host().log.append(level, msg != nullptr ? msg : "");
}

extern "C" int32_t kxs_host_current_kext(void)
{
    return kextsim::current_kext();
}

extern "C" int32_t kxs_host_set_current_kext(int32_t kext)
{
    const int32_t prev = kextsim::current_kext();
    kextsim::set_current_kext(kext);
    return prev;
}
