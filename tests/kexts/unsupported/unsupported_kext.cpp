// A kext that links against a KPI kextsim does not provide (the deprecated
// mbuf KPI): kextsim must refuse to load it and name the symbol, never run it
// with the call silently doing nothing.
#include <mach/kmod.h>
#include <sys/kernel_types.h>

extern "C" void mbuf_freem(mbuf_t mbuf); // com.apple.kpi.bsd; not in kextsim

extern "C" kern_return_t unsupported_start(kmod_info_t *, void *)
{
    mbuf_freem(nullptr);
    return KERN_SUCCESS;
}

extern "C" kern_return_t unsupported_stop(kmod_info_t *, void *)
{
    return KERN_SUCCESS;
}

extern "C" {
KMOD_EXPLICIT_DECL(org.kextconf.test.unsupported, KEXTCONF_KEXT_VERSION, unsupported_start, unsupported_stop)
}
