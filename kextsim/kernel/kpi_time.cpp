// Kernel-domain clock KPIs (microtime, nanotime, ...), backed by host clocks.
#include <sys/time.h>

#include "../abi/kxs_abi.h"

namespace {
void to_timespec(uint64_t ns, struct timespec *ts)
{
    ts->tv_sec = static_cast<long>(ns / 1000000000u);
    ts->tv_nsec = static_cast<long>(ns % 1000000000u);
}
void to_timeval(uint64_t ns, struct timeval *tv)
{
    tv->tv_sec = static_cast<long>(ns / 1000000000u);
    tv->tv_usec = static_cast<int>((ns % 1000000000u) / 1000u);
}
} // namespace

extern "C" {
void microtime(struct timeval *tv)
{
    to_timeval(kxs_host_wall_ns(), tv);
}
void microuptime(struct timeval *tv)
{
    to_timeval(kxs_host_uptime_ns(), tv);
}
void nanotime(struct timespec *ts)
{
    to_timespec(kxs_host_wall_ns(), ts);
}
void nanouptime(struct timespec *ts)
{
    to_timespec(kxs_host_uptime_ns(), ts);
}
}
