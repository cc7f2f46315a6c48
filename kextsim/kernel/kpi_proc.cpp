// Kernel-domain process identity KPIs (proc_selfpid, kauth_getuid): whom the
// current thread runs for, as the host knows it (kxs_host_current_proc).
#include <sys/kauth.h>
#include <sys/proc.h>

#include "../abi/kxs_abi.h"

extern "C" int proc_selfpid(void)
{
    int32_t pid = 0;
    uint32_t uid = 0;
    kxs_host_current_proc(&pid, &uid);
    return pid;
}

extern "C" uid_t kauth_getuid(void)
{
    int32_t pid = 0;
    uint32_t uid = 0;
    kxs_host_current_proc(&pid, &uid);
    return uid;
}
