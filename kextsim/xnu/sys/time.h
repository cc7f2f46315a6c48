/* kextsim: XNU-shaped kernel <sys/time.h>: the clock KPIs (com.apple.kpi.bsd). */
#ifndef _KEXTSIM_SYS_TIME_H_
#define _KEXTSIM_SYS_TIME_H_
#include <sys/types.h>
struct timespec {
    long tv_sec;
    long tv_nsec;
};
struct timeval {
    long tv_sec;
    int tv_usec;
};
__BEGIN_DECLS
void microtime(struct timeval *tv);
void microuptime(struct timeval *tv);
void nanotime(struct timespec *ts);
void nanouptime(struct timespec *ts);
__END_DECLS
#endif
