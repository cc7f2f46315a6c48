// Sockets that no child process inherits. kextconfd starts kmutil and
// kextconfctl starts an editor; neither may keep the admin socket, a kernel
// control socket or a client connection open behind our back.
#pragma once

namespace kextconf {

// socket(2), close-on-exec from the start where the platform has
// SOCK_CLOEXEC (Linux), else marked FD_CLOEXEC before it is returned (macOS).
// The descriptor, or -1 with errno set (nothing left open).
int open_socket(int domain, int type, int protocol);

// Marks a descriptor someone else made (Boost.Asio's acceptor and the
// connections it accepts) close-on-exec. False with errno set on failure.
bool set_close_on_exec(int fd);

} // namespace kextconf
