// Peer credentials on macOS: getpeereid(3) for the uid (LOCAL_PEERCRED
// underneath) and LOCAL_PEERPID for the pid, which only messages use.
#include "peer_cred.hpp"

#include <cerrno>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace kextconf {

std::optional<PeerCred> peer_credentials(int fd, std::error_code& ec)
{
    uid_t uid = 0;
    gid_t gid = 0;
    if (::getpeereid(fd, &uid, &gid) != 0) {
        ec = std::error_code(errno, std::generic_category());
        return std::nullopt;
    }
    PeerCred out{uid, -1};
    pid_t pid = -1;
    socklen_t len = sizeof pid;
    if (::getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &len) == 0 && len == sizeof pid)
        out.pid = pid;
    ec.clear();
    return out;
}

} // namespace kextconf
