/* The list test kext's table, shared with the tests that drive it. */
#ifndef KEXTCONF_TEST_LISTS_KEXT_H
#define KEXTCONF_TEST_LISTS_KEXT_H

#define LISTS_TEST_BUNDLE_ID "org.kextconf.test.lists"
enum { LISTS_TEST_LEVEL, LISTS_TEST_PORTS, LISTS_TEST_PATHS, LISTS_TEST_SECRET, LISTS_TEST_COUNT };
#define LISTS_TEST_PORTS_MAX 16
#define LISTS_TEST_PATHS_MAX 4
#define LISTS_TEST_PATH_LEN 8

#endif
