// A test kext that is the kextconf kernel library over one table: its start
// and stop routines are kc_start and kc_stop, and its kmod_info names them.
// `name` is the bundle id as the bare token KMOD_EXPLICIT_DECL stringizes (a
// macro standing for it is expanded first); `config`, the kc_kext_config.
#pragma once

#include <kextconf/kc_kext.h>
#include <mach/kmod.h>

#define KC_TEST_KEXT(name, config)                                                                                     \
    extern "C" kern_return_t kc_test_start(kmod_info_t *, void *)                                                      \
    {                                                                                                                  \
        return kc_start(&(config)) == 0 ? KERN_SUCCESS : KERN_FAILURE;                                                 \
    }                                                                                                                  \
    extern "C" kern_return_t kc_test_stop(kmod_info_t *, void *)                                                       \
    {                                                                                                                  \
        return kc_stop() == 0 ? KERN_SUCCESS : KERN_FAILURE;                                                           \
    }                                                                                                                  \
    extern "C" {                                                                                                       \
    KMOD_EXPLICIT_DECL(name, KEXTCONF_KEXT_VERSION, kc_test_start, kc_test_stop)                                       \
    }
