// sync_durably where fsync reaches the medium (Linux and other POSIX hosts).
#include <kextconf/file.hpp>

#include <unistd.h>

namespace kextconf {

bool sync_durably(int fd)
{
    return ::fsync(fd) == 0;
}

} // namespace kextconf
