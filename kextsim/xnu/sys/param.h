/* kextsim: XNU-shaped <sys/param.h>, the subset kexts use. */
#ifndef _KEXTSIM_SYS_PARAM_H_
#define _KEXTSIM_SYS_PARAM_H_
#include <sys/types.h>
#define PCATCH 0x100 /* OR'd with pri for msleep to check signals */
#define PDROP 0x400  /* OR'd with pri: do not re-take the mutex on wakeup */
#define MAXPATHLEN 1024
#endif
