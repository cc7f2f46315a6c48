/* kextsim: XNU-shaped <sys/kernel_types.h>: opaque KPI handles. */
#ifndef _KEXTSIM_SYS_KERNEL_TYPES_H_
#define _KEXTSIM_SYS_KERNEL_TYPES_H_
#include <sys/types.h>
typedef struct __mbuf *mbuf_t;
typedef struct __socket *socket_t;
#endif
