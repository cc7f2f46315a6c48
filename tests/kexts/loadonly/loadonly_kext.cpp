// org.kextconf.test.loadonly: the kextconf kernel library with a tunable the
// kext takes only at load (KC_TF_LOAD_ONLY), which a transaction may not set.
// kextconfd must say a change to it is applied at the next kext load and
// still apply the rest.
#include <kextconf/kc_kext.h>
#include <mach/kmod.h>

namespace {

const kc_tunable_def kTunables[] = {
    KC_TUNABLE_BOOL("enabled", true, 0, "Master switch"),
    KC_TUNABLE_UINT64("pool_size", 64, 1, 4096, "buffers", KC_TF_LOAD_ONLY, "Buffers allocated at load"),
};

const kc_kext_config kConfig = KC_KEXT_CONFIG("org.kextconf.test.loadonly", KEXTCONF_KEXT_VERSION, kTunables);

} // namespace

extern "C" kern_return_t loadonly_start(kmod_info_t *, void *)
{
    return kc_start(&kConfig) == 0 ? KERN_SUCCESS : KERN_FAILURE;
}

extern "C" kern_return_t loadonly_stop(kmod_info_t *, void *)
{
    return kc_stop() == 0 ? KERN_SUCCESS : KERN_FAILURE;
}

extern "C" {
KMOD_EXPLICIT_DECL(org.kextconf.test.loadonly, KEXTCONF_KEXT_VERSION, loadonly_start, loadonly_stop)
}
