/* kextsim: XNU-shaped <sys/kauth.h>, the subset of com.apple.kpi.bsd kexts
 * here use: the current thread's credential. kauth_cred_t values are not
 * offered (no kauth_cred_get/kauth_cred_getuid yet). */
#ifndef _SYS_KAUTH_H_
#define _SYS_KAUTH_H_
#include <sys/cdefs.h>
#include <sys/types.h>
__BEGIN_DECLS
/* Effective uid of the current thread's credential: in a kernel control
 * callback the client's, 0 on kextsim's own threads (kernel_task). */
extern uid_t kauth_getuid(void);
__END_DECLS
#endif
