// Allocation for kextsim's own kernel-domain bookkeeping (not a kext's): goes
// to the host under the "kextsim" tag, so it never counts against a kext.
#ifndef KEXTSIM_KERNEL_ALLOC_H
#define KEXTSIM_KERNEL_ALLOC_H
#include <sys/types.h>
void *kextsim_kernel_alloc(size_t size);
void kextsim_kernel_free(void *p, size_t size);
#endif
