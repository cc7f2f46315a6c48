// org.kextconf.test.v1: a kext built on the kextconf kernel library pinned to
// contract version 1 (KC_LIB_PROTO_VERSION=1, CMakeLists.txt), as a kext
// built before version 2 is: hello says 1..1, KC_OPT_DESCRIBE_ALL is an
// unknown option and a TXN_SET carries exactly one value. Tests prove with it
// that kextconfd and kextconfctl fall back to version 1.
#include "../kc_test_kext.h"

namespace {

const kc_tunable_def kTunables[] = {
    KC_TUNABLE_BOOL("enabled", true, 0, "Master switch"),
    KC_TUNABLE_UINT64("max_clients", 64, 1, 4096, "", 0, "Most clients"),
    KC_TUNABLE_ENUM("mode", 0, "fast|safe", 2, 0, "How to run"),
    KC_TUNABLE_STRING("label", "v1", 31, 0, "Free-form name"),
    KC_TUNABLE_INT64_LIST("ports", 1, 65535, 64, "port", 0, "A list"),
};

const kc_kext_config kConfig = KC_KEXT_CONFIG("org.kextconf.test.v1", KEXTCONF_KEXT_VERSION, kTunables);

} // namespace

KC_TEST_KEXT(org.kextconf.test.v1, kConfig)
