// Who is on the other end of a local (AF_UNIX) stream socket: the platform
// seam for peer credentials. SO_PEERCRED on Linux (peer_cred_linux.cpp);
// getpeereid and LOCAL_PEERPID on macOS (peer_cred_darwin.cpp). The kernel
// records them at connect(), so a client cannot lie about them.
//
// Threading: a pure function of the descriptor; any thread.
#pragma once

#include <optional>
#include <sys/types.h>
#include <system_error>

namespace kextconf {

struct PeerCred {
    uid_t uid = 0;
    pid_t pid = -1; // -1 where the platform cannot say
};

// The credentials of the process that connected `fd`; nullopt with ec set
// if the kernel cannot tell (then treat the peer as unknown and refuse it).
std::optional<PeerCred> peer_credentials(int fd, std::error_code& ec);

} // namespace kextconf
