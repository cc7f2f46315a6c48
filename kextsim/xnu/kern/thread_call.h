/* kextsim: XNU-shaped <kern/thread_call.h>, the thread call KPI of
 * com.apple.kpi.mach (osfmk/kern/thread_call.h, xnu-11417): work run later on
 * a kernel thread, immediately or at a deadline in absolute time units
 * (kern/clock.h: clock_interval_to_deadline, nanoseconds_to_absolutetime).
 *
 * Semantics (osfmk/kern/thread_call.c):
 *  - enter* replace a pending invocation (new deadline, new param1) and
 *    return TRUE if the call was pending, FALSE otherwise;
 *  - cancel removes a pending invocation (TRUE) or returns FALSE at once if
 *    there is none; a callback already running keeps running;
 *  - free returns FALSE and has no effect while the call is pending; called
 *    while the callback runs (even from it) it releases the call when the
 *    callback returns;
 *  - THREAD_CALL_OPTIONS_ONCE: an enter while the callback runs is deferred
 *    until it returns, so the callback never runs twice at once.
 * thread_call_cancel_wait, thread_call_allocate_with_priority and
 * thread_call_isactive are not in any com.apple.kpi.* export list: declared
 * as in XNU, not provided, so a kext that calls them fails to load. */
#ifndef _KERN_THREAD_CALL_H_
#define _KERN_THREAD_CALL_H_
#include <kern/clock.h>
#include <mach/mach_types.h>
#include <sys/cdefs.h>

struct thread_call;
typedef struct thread_call *thread_call_t;
typedef void *thread_call_param_t;
typedef void (*thread_call_func_t)(thread_call_param_t param0, thread_call_param_t param1);

typedef enum {
    THREAD_CALL_PRIORITY_HIGH = 0,
    THREAD_CALL_PRIORITY_KERNEL = 1,
    THREAD_CALL_PRIORITY_USER = 2,
    THREAD_CALL_PRIORITY_LOW = 3,
    THREAD_CALL_PRIORITY_KERNEL_HIGH = 4
} thread_call_priority_t;

enum {
    /* if call is re-submitted while the call is executing on a call thread, then delay the re-enqueue until it returns
     */
    THREAD_CALL_OPTIONS_ONCE = 0x00000001,
};
typedef uint32_t thread_call_options_t;

__BEGIN_DECLS
boolean_t thread_call_enter(thread_call_t call);
boolean_t thread_call_enter1(thread_call_t call, thread_call_param_t param1);
boolean_t thread_call_enter_delayed(thread_call_t call, uint64_t deadline);
boolean_t thread_call_enter1_delayed(thread_call_t call, thread_call_param_t param1, uint64_t deadline);
boolean_t thread_call_cancel(thread_call_t call);
boolean_t thread_call_cancel_wait(thread_call_t call); /* Private.exports: not KPI */
thread_call_t thread_call_allocate(thread_call_func_t func, thread_call_param_t param0);
thread_call_t thread_call_allocate_with_priority(thread_call_func_t func, thread_call_param_t param0,
                                                 thread_call_priority_t pri); /* Private.exports: not KPI */
thread_call_t thread_call_allocate_with_options(thread_call_func_t func, thread_call_param_t param0,
                                                thread_call_priority_t pri, thread_call_options_t options);
boolean_t thread_call_free(thread_call_t call);
boolean_t thread_call_isactive(thread_call_t call); /* not exported: not KPI */
__END_DECLS
#endif
