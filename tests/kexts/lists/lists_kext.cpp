// A test kext built on the kextconf kernel library: small list tunables (so
// tests reach max_count and element bounds cheaply), one of them hidden from
// the query control, and the in-kernel list API exported under C names the
// in-process tests look up with dlsym.
#include "lists_kext.h"

#include "../kc_test_kext.h"

namespace {

const kc_tunable_def kTunables[] = {
    KC_TUNABLE_INT64("level", 1, 0, 10, "", 0, "A scalar next to the lists"),
    KC_TUNABLE_INT64_LIST("ports", 1, 65535, LISTS_TEST_PORTS_MAX, "port", 0, "Small int64 list"),
    KC_TUNABLE_STRING_LIST("paths", LISTS_TEST_PATHS_MAX, LISTS_TEST_PATH_LEN, 0, "Small string list"),
    KC_TUNABLE_INT64_LIST("secret_ids", 0, 100, 8, "", KC_TF_HIDDEN, "Hidden from the query control"),
};
static_assert(sizeof kTunables / sizeof kTunables[0] == LISTS_TEST_COUNT, "index constants match the table");

const kc_kext_config kConfig = KC_KEXT_CONFIG(LISTS_TEST_BUNDLE_ID, KEXTCONF_KEXT_VERSION, kTunables);

#define EXPORT extern "C" __attribute__((visibility("default")))

} // namespace

EXPORT const kc_list *lists_test_acquire(uint32_t index)
{
    return kc_list_acquire(index);
}
EXPORT void lists_test_release(const kc_list *l)
{
    kc_list_release(l);
}
EXPORT uint32_t lists_test_count(const kc_list *l)
{
    return kc_list_count(l);
}
EXPORT const int64_t *lists_test_int64s(const kc_list *l)
{
    return kc_list_int64s(l);
}
EXPORT const char *lists_test_string(const kc_list *l, uint32_t i, size_t *len)
{
    return kc_list_string(l, i, len);
}
EXPORT bool lists_test_contains(uint32_t index, int64_t v)
{
    return kc_list_contains_int64(index, v);
}

KC_TEST_KEXT(org.kextconf.test.lists, kConfig)
