/* kextsim: XNU-shaped <sys/proc.h>, the sleep/wakeup KPI (com.apple.kpi.bsd). */
#ifndef _KEXTSIM_SYS_PROC_H_
#define _KEXTSIM_SYS_PROC_H_
#include <kern/locks.h>
#include <sys/time.h>
#include <sys/types.h>
__BEGIN_DECLS
/* Sleeps on chan, dropping mtx while asleep (re-taken on return unless pri
 * has PDROP). ts: relative timeout, or NULL to wait for wakeup(). Returns 0
 * when woken, EWOULDBLOCK on timeout. */
int msleep(void *chan, lck_mtx_t *mtx, int pri, const char *wmesg, struct timespec *ts);
void wakeup(void *chan);
/* The pid of the process the current thread runs for: in a kernel control
 * callback the client that made the syscall; 0 (kernel_task) on a thread
 * call. */
int proc_selfpid(void);
__END_DECLS
#endif
