// Start-up steps of kextsim's kernel domain, run by kxs_kern_init before any
// kext loads (as XNU sets these up at boot).
#ifndef KEXTSIM_KERNEL_INIT_H
#define KEXTSIM_KERNEL_INIT_H
// Registers the top-level sysctl nodes (sysctl, kern, vm, vfs, net, debug,
// machdep) and vfs.generic.
void kextsim_sysctl_init();
#endif
