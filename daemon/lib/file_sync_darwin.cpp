// sync_durably on macOS: fsync only reaches the drive's cache there;
// F_FULLFSYNC asks the drive to flush it too (fsync(2) on macOS). Where the
// file system refuses F_FULLFSYNC, fsync is what there is.
#include <kextconf/file.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace kextconf {

bool sync_durably(int fd)
{
    return ::fcntl(fd, F_FULLFSYNC) == 0 || ::fsync(fd) == 0;
}

} // namespace kextconf
