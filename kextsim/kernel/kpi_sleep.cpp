// Kernel-domain msleep/wakeup: a channel-keyed wait backed by the host.
#include <sys/errno.h>
#include <sys/param.h>
#include <sys/proc.h>

#include "../abi/kxs_abi.h"

extern "C" int msleep(void *chan, lck_mtx_t *mtx, int pri, const char *, struct timespec *ts)
{
    // As XNU's msleep: a timeout only for a non-zero timespec; {0, 0} waits
    // for wakeup() like NULL.
    int64_t timeout_ns = -1;
    if (ts != nullptr && (ts->tv_sec != 0 || ts->tv_nsec != 0)) {
        if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
            return EINVAL;
        timeout_ns = static_cast<int64_t>(ts->tv_sec) * 1000000000LL + ts->tv_nsec;
    }
    const int woken = kxs_host_msleep(chan, mtx, timeout_ns, (pri & PDROP) != 0, __builtin_return_address(0));
    return woken ? 0 : EWOULDBLOCK;
}

extern "C" void wakeup(void *chan)
{
    kxs_host_wakeup(chan);
}
