/* Force-included by the macOS cross-build (macos-zig.cmake) only.
 * ../shared/xnu/user/os/log.h comes from a newer xnu tag than zig 0.11's
 * macOS 11 headers and uses __osloglike, which sys/cdefs.h defines from the
 * macOS 12 SDK on (where it has this very definition). */
#include <sys/cdefs.h>
#ifndef __osloglike
#define __osloglike(fmtarg, firstvararg) __attribute__((__format__(__os_log__, fmtarg, firstvararg)))
#endif
