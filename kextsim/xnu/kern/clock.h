/* kextsim: XNU-shaped <kern/clock.h>, the clock KPIs in com.apple.kpi.mach.
 * kextsim's absolute time unit is the nanosecond (timebase 1/1, as on Intel
 * Macs; Apple silicon uses 125/3). Kexts must convert, never assume. */
#ifndef _KERN_CLOCK_H_
#define _KERN_CLOCK_H_
#include <mach/mach_time.h>
#include <sys/types.h>
typedef unsigned long clock_sec_t;
typedef unsigned int clock_usec_t;
typedef unsigned int clock_nsec_t;
__BEGIN_DECLS
void clock_get_uptime(uint64_t *result);
void clock_get_system_nanotime(clock_sec_t *secs, clock_nsec_t *nanosecs);
void clock_get_system_microtime(clock_sec_t *secs, clock_usec_t *microsecs);
void clock_get_calendar_microtime(clock_sec_t *secs, clock_usec_t *microsecs);
void clock_get_calendar_nanotime(clock_sec_t *secs, clock_nsec_t *nanosecs);
void absolutetime_to_nanoseconds(uint64_t abstime, uint64_t *result);
void nanoseconds_to_absolutetime(uint64_t nanoseconds, uint64_t *result);
void clock_interval_to_deadline(uint32_t interval, uint32_t scale_factor, uint64_t *result);
void nanoseconds_to_deadline(uint64_t interval, uint64_t *result);
__END_DECLS
#endif
