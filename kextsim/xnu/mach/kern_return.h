/* kextsim: XNU-shaped <mach/kern_return.h>. */
#ifndef _KEXTSIM_MACH_KERN_RETURN_H_
#define _KEXTSIM_MACH_KERN_RETURN_H_
typedef int kern_return_t;
#define KERN_SUCCESS 0
#define KERN_INVALID_ADDRESS 1
#define KERN_PROTECTION_FAILURE 2
#define KERN_NO_SPACE 3
#define KERN_INVALID_ARGUMENT 4
#define KERN_FAILURE 5
#define KERN_RESOURCE_SHORTAGE 6
#endif
