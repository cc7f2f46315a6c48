/* What writing debug.kxstest.action makes the sysctl test kext do: the
 * misuses and bursts kextsim's sysctl and log tests need, on demand.
 * Shared by the kext and tests/integration/kextsim_{sysctl,log}_test.cpp. */
#ifndef KEXTSIM_TEST_SYSCTL_ACTIONS_H
#define KEXTSIM_TEST_SYSCTL_ACTIONS_H

#define KXSTEST_BUNDLE_ID "org.kextconf.test.sysctl"
#define KXSTEST_CONTROL_NAME "org.kextconf.test.sysctl.ctl"
#define KXSTEST_NODE "debug.kxstest"

enum {
    KXSTEST_ACTION_NONE = 0,
    KXSTEST_ACTION_CLASH = 1,     /* register "clash" with explicit number 100, taken by "value" */
    KXSTEST_ACTION_ORPHAN = 2,    /* register "orphan" under a node that was never registered */
    KXSTEST_ACTION_OLD_STYLE = 3, /* register "oldstyle", an OID without CTLFLAG_OID2 */
    KXSTEST_ACTION_LEAK = 4,      /* register "leaky" and leave it registered at stop */
    KXSTEST_ACTION_BURST = 5,     /* log KXSTEST_BURST_LINES lines "burst line N" */
    KXSTEST_ACTION_MARK = 6,      /* log one line "mark N" (N counts marks) */
    KXSTEST_ACTION_COUNT          /* new actions go above this line */
};

#define KXSTEST_BURST_LINES 1200
#define KXSTEST_SLOW_NS 200000000L /* debug.kxstest.slow sleeps this long per call */

#endif
