/* kextsim: XNU-shaped <mach/mach_time.h> (kernel part). */
#ifndef _MACH_MACH_TIME_H_
#define _MACH_MACH_TIME_H_
#include <sys/types.h>
__BEGIN_DECLS
uint64_t mach_absolute_time(void);
__END_DECLS
#endif
