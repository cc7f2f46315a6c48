// org.kextconf.test.badtable: the kextconf kernel library with a table that
// breaks a rule (row 1's default lies above its maximum). kc_start must
// refuse and say which tunable broke which rule.
#include <kextconf/kc_kext.h>
#include <mach/kmod.h>

namespace {

const kc_tunable_def kTunables[] = {
    KC_TUNABLE_BOOL("enabled", true, 0, "Master switch"),
    KC_TUNABLE_UINT64("pool_size", 5000, 1, 4096, "buffers", 0, "Buffers: the default is over the maximum"),
};

const kc_kext_config kConfig = KC_KEXT_CONFIG("org.kextconf.test.badtable", KEXTCONF_KEXT_VERSION, kTunables);

} // namespace

extern "C" kern_return_t badtable_start(kmod_info_t *, void *)
{
    return kc_start(&kConfig) == 0 ? KERN_SUCCESS : KERN_FAILURE;
}

extern "C" kern_return_t badtable_stop(kmod_info_t *, void *)
{
    return kc_stop() == 0 ? KERN_SUCCESS : KERN_FAILURE;
}

extern "C" {
KMOD_EXPLICIT_DECL(org.kextconf.test.badtable, KEXTCONF_KEXT_VERSION, badtable_start, badtable_stop)
}
