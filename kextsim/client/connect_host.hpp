// The client library's way to the host: a new request channel to
// <root>/kernel.sock (the default runtime root when `root` is empty).
// Returns the descriptor, or -1 with errno (ECONNREFUSED: no host there).
#pragma once

#include <string>

namespace kextsim {
int connect_host(const std::string& root);
}
