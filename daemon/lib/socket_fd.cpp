#include "socket_fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kextconf {

bool set_close_on_exec(int fd)
{
    const int flags = ::fcntl(fd, F_GETFD);
    return flags >= 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
}

int open_socket(int domain, int type, int protocol)
{
#ifdef SOCK_CLOEXEC
    // Atomic: no window in which another thread's fork+exec could inherit it.
    return ::socket(domain, type | SOCK_CLOEXEC, protocol);
#else
    // macOS has no SOCK_CLOEXEC. The window until fcntl is closed for
    // kextconfd's only child, kmutil, by POSIX_SPAWN_CLOEXEC_DEFAULT.
    const int fd = ::socket(domain, type, protocol);
    if (fd >= 0 && !set_close_on_exec(fd)) {
        const int err = errno;
        ::close(fd);
        errno = err;
        return -1;
    }
    return fd;
#endif
}

} // namespace kextconf
