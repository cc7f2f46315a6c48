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

// ---- Mach clock KPIs: absolute time is kextsim's monotonic nanoseconds ----
#include <kern/clock.h>

extern "C" {
uint64_t mach_absolute_time(void)
{
    return kxs_host_uptime_ns();
}
void clock_get_uptime(uint64_t *result)
{
    *result = kxs_host_uptime_ns();
}
void clock_get_system_nanotime(clock_sec_t *secs, clock_nsec_t *nanosecs)
{
    const uint64_t ns = kxs_host_uptime_ns();
    *secs = static_cast<clock_sec_t>(ns / 1000000000u);
    *nanosecs = static_cast<clock_nsec_t>(ns % 1000000000u);
}
void clock_get_system_microtime(clock_sec_t *secs, clock_usec_t *microsecs)
{
    const uint64_t ns = kxs_host_uptime_ns();
    *secs = static_cast<clock_sec_t>(ns / 1000000000u);
    *microsecs = static_cast<clock_usec_t>((ns % 1000000000u) / 1000u);
}
void clock_get_calendar_microtime(clock_sec_t *secs, clock_usec_t *microsecs)
{
    const uint64_t ns = kxs_host_wall_ns();
    *secs = static_cast<clock_sec_t>(ns / 1000000000u);
    *microsecs = static_cast<clock_usec_t>((ns % 1000000000u) / 1000u);
}
void clock_get_calendar_nanotime(clock_sec_t *secs, clock_nsec_t *nanosecs)
{
    const uint64_t ns = kxs_host_wall_ns();
    *secs = static_cast<clock_sec_t>(ns / 1000000000u);
    *nanosecs = static_cast<clock_nsec_t>(ns % 1000000000u);
}
void absolutetime_to_nanoseconds(uint64_t abstime, uint64_t *result)
{
    *result = abstime;
}
void nanoseconds_to_absolutetime(uint64_t nanoseconds, uint64_t *result)
{
    *result = nanoseconds;
}
void clock_interval_to_deadline(uint32_t interval, uint32_t scale_factor, uint64_t *result)
{
    *result = kxs_host_uptime_ns() + uint64_t{interval} * scale_factor;
}
void nanoseconds_to_deadline(uint64_t interval, uint64_t *result)
{
    *result = kxs_host_uptime_ns() + interval;
}
}
