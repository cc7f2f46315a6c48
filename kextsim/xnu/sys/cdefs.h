/* kextsim: XNU-shaped <sys/cdefs.h>, the subset kexts rely on. */
#ifndef _KEXTSIM_SYS_CDEFS_H_
#define _KEXTSIM_SYS_CDEFS_H_
#ifdef __cplusplus
#define __BEGIN_DECLS extern "C" {
#define __END_DECLS }
#else
#define __BEGIN_DECLS
#define __END_DECLS
#endif
#define __private_extern__ __attribute__((visibility("hidden")))
#define __unused __attribute__((__unused__))
#define __dead2 __attribute__((__noreturn__))
#define __printflike(fmtarg, firstvararg) __attribute__((__format__(__printf__, fmtarg, firstvararg)))
#endif
