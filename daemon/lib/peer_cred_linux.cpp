// Peer credentials on Linux: SO_PEERCRED (socket(7)).
#include "peer_cred.hpp"

#include <cerrno>
#include <sys/socket.h>

namespace kextconf {

std::optional<PeerCred> peer_credentials(int fd, std::error_code& ec)
{
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
        ec = std::error_code(errno != 0 ? errno : EPROTO, std::generic_category());
        return std::nullopt;
    }
    ec.clear();
    return PeerCred{cred.uid, cred.pid};
}

} // namespace kextconf
