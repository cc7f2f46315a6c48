// The kextconf kernel library with a tunable the kext takes only at load
// (KC_TF_LOAD_ONLY), which a transaction may not set. Built twice by
// CMakeLists.txt:
//  - org.kextconf.test.loadonly: kextconfd must say a change to pool_size is
//    applied at the next kext load and still apply the rest;
//  - org.kextconf.test.badtable (TEST_BAD_TABLE): pool_size's default lies
//    above its maximum, so kc_start must refuse the table and say which
//    tunable broke which rule.
#include "../kc_test_kext.h"

#define TEST_STR2(x) #x
#define TEST_STR(x) TEST_STR2(x)
#define TEST_BUNDLE_ID TEST_STR(TEST_KMOD_NAME)

namespace {

#ifdef TEST_BAD_TABLE
constexpr uint64_t kPoolDefault = 5000; // over the maximum: a broken table
#else
constexpr uint64_t kPoolDefault = 64;
#endif

const kc_tunable_def kTunables[] = {
    KC_TUNABLE_BOOL("enabled", true, 0, "Master switch"),
    KC_TUNABLE_UINT64("pool_size", kPoolDefault, 1, 4096, "buffers", KC_TF_LOAD_ONLY, "Buffers allocated at load"),
};

const kc_kext_config kConfig = KC_KEXT_CONFIG(TEST_BUNDLE_ID, KEXTCONF_KEXT_VERSION, kTunables);

} // namespace

KC_TEST_KEXT(TEST_KMOD_NAME, kConfig)
