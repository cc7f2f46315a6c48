/* kextsim: XNU-shaped <sys/errno.h>: Darwin's values (they differ from Linux). */
#ifndef _KEXTSIM_SYS_ERRNO_H_
#define _KEXTSIM_SYS_ERRNO_H_
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EIO 5
#define ENXIO 6
#define E2BIG 7
#define EBADF 9
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ERANGE 34
#define EAGAIN 35
#define EWOULDBLOCK EAGAIN
#define EINPROGRESS 36
#define EALREADY 37
#define EMSGSIZE 40
#define EPROTOTYPE 41
#define ENOPROTOOPT 42
#define ENOTSUP 45
#define ENOBUFS 55
#define EISCONN 56
#define ENOTCONN 57
#define ETIMEDOUT 60
#define ENAMETOOLONG 63
#define EOVERFLOW 84
#define ECANCELED 89
#define EOPNOTSUPP 102
/* kernel-internal return codes */
#define ERESTART (-1)
#define EJUSTRETURN (-2)
#endif
