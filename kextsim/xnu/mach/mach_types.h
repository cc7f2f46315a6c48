/* kextsim: XNU-shaped <mach/mach_types.h>, the subset kexts use. */
#ifndef _KEXTSIM_MACH_MACH_TYPES_H_
#define _KEXTSIM_MACH_MACH_TYPES_H_
#include <mach/kern_return.h>
#include <sys/types.h>
typedef int wait_result_t;
typedef int wait_interrupt_t;
typedef void *event_t;
#define THREAD_UNINT 0
#define THREAD_INTERRUPTIBLE 1
#define THREAD_ABORTSAFE 2
#define THREAD_AWAKENED 0
#define THREAD_TIMED_OUT 1
#define THREAD_INTERRUPTED 2
#define THREAD_RESTART 3
#endif
