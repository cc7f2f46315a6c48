// The sysctl and logging test kext (org.kextconf.test.sysctl). At start it
// logs through printf, IOLog and os_log, registers debug.kxstest with an int,
// a string and SYSCTL_PROC handlers, and a kernel control whose callbacks
// log; at stop it undoes all of it. Writing debug.kxstest.action makes it
// misuse the KPI or log in bulk (sysctl_actions.h), so kextsim's tests can
// check each rule (tests/integration/kextsim_{sysctl,log}_test.cpp).
//
// Threading: handlers and control callbacks run on host client threads,
// concurrently; shared counters use atomics, the rest is written only at
// start/stop or by sysctl_handle_* under the test's control.
#include "sysctl_actions.h"

#include <IOKit/IOLib.h>
#include <libkern/libkern.h>
#include <mach/kmod.h>
#include <os/log.h>
#include <string.h>
#include <sys/errno.h>
#include <sys/kern_control.h>
#include <sys/proc.h>
#include <sys/sysctl.h>

namespace {
int g_value = 7;
int g_readonly = 42;
int g_anybody = 0;
int g_hidden = 3;
char g_label[32] = "hello";
int g_marks = 0;
kern_ctl_ref g_ctl = nullptr;
bool g_leaky_registered = false;
} // namespace

// A read-write handler of its own: twice debug.kxstest.value. (sysctl_io_*
// are not KPI, so it moves the data with SYSCTL_OUT/SYSCTL_IN itself.)
static int doubled_handler SYSCTL_HANDLER_ARGS
{
    int v = __atomic_load_n(&g_value, __ATOMIC_RELAXED) * 2;
    int err = SYSCTL_OUT(req, &v, sizeof v);
    if (err != 0 || req->newptr == 0)
        return err;
    if (req->newlen != sizeof v)
        return EINVAL;
    err = SYSCTL_IN(req, &v, sizeof v);
    if (err == 0) {
        __atomic_store_n(&g_value, v / 2, __ATOMIC_RELAXED);
        printf("doubled set to %d\n", v);
    }
    return err;
}

// Takes a while on every call, so a test can unregister it mid-call.
static int slow_handler SYSCTL_HANDLER_ARGS
{
    printf("slow handler: entered\n");
    struct timespec ts = {0, KXSTEST_SLOW_NS};
    msleep(&g_marks, nullptr, 0, "kxstest", &ts); // nobody wakes this channel
    printf("slow handler: leaving\n");
    const int one = 1;
    return SYSCTL_OUT(req, &one, sizeof one);
}

static int action_handler SYSCTL_HANDLER_ARGS;

SYSCTL_NODE(_debug, OID_AUTO, kxstest, CTLFLAG_RW | CTLFLAG_LOCKED, 0, "kextsim sysctl test kext");
SYSCTL_INT(_debug_kxstest, OID_AUTO, value, CTLFLAG_RW | CTLFLAG_LOCKED, &g_value, 0, "an int");
SYSCTL_STRING(_debug_kxstest, OID_AUTO, label, CTLFLAG_RW | CTLFLAG_LOCKED, g_label, sizeof g_label, "a string");
SYSCTL_PROC(_debug_kxstest, OID_AUTO, doubled, CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_LOCKED, 0, 0, doubled_handler, "I",
            "twice value, through a handler");
SYSCTL_INT(_debug_kxstest, OID_AUTO, readonly, CTLFLAG_RD | CTLFLAG_LOCKED, &g_readonly, 0, "not writable");
SYSCTL_INT(_debug_kxstest, OID_AUTO, anybody, CTLFLAG_RW | CTLFLAG_ANYBODY | CTLFLAG_LOCKED, &g_anybody, 0,
           "writable by anyone");
SYSCTL_INT(_debug_kxstest, OID_AUTO, hidden, CTLFLAG_RW | CTLFLAG_MASKED | CTLFLAG_LOCKED, &g_hidden, 0,
           "not listed by sysctl -a");
SYSCTL_PROC(_debug_kxstest, OID_AUTO, slow, CTLTYPE_INT | CTLFLAG_RD | CTLFLAG_LOCKED, 0, 0, slow_handler, "I",
            "sleeps on every call");
SYSCTL_PROC(_debug_kxstest, OID_AUTO, action, CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_LOCKED, 0, 0, action_handler, "I",
            "write a KXSTEST_ACTION_*");

// Declared but never registered: invisible, as in XNU.
SYSCTL_INT(_debug_kxstest, OID_AUTO, never, CTLFLAG_RD | CTLFLAG_LOCKED, &g_value, 0, "never registered");

// Registered only by actions.
SYSCTL_INT(_debug_kxstest, 100, clash, CTLFLAG_RD | CTLFLAG_LOCKED, &g_value, 0, "explicit number 100");
SYSCTL_INT(_debug_kxstest, OID_AUTO, leaky, CTLFLAG_RD | CTLFLAG_LOCKED, &g_value, 0, "left registered at stop");
SYSCTL_NODE(_debug, OID_AUTO, kxsorphanage, CTLFLAG_RW | CTLFLAG_LOCKED, 0, "never registered");
SYSCTL_INT(_debug_kxsorphanage, OID_AUTO, orphan, CTLFLAG_RD | CTLFLAG_LOCKED, &g_value, 0, "parent not registered");
// What a pre-OID2 binary declared: no CTLFLAG_OID2, no version.
struct sysctl_oid g_old_style = {&sysctl__debug_kxstest_children,
                                 {nullptr},
                                 OID_AUTO,
                                 static_cast<int>(CTLTYPE_INT | CTLFLAG_RD),
                                 &g_value,
                                 0,
                                 "oldstyle",
                                 sysctl_handle_int,
                                 "I",
                                 nullptr,
                                 0,
                                 0};

static int action_handler SYSCTL_HANDLER_ARGS
{
    int action = KXSTEST_ACTION_NONE;
    const int err = SYSCTL_OUT(req, &action, sizeof action);
    if (err != 0 || req->newptr == 0)
        return err;
    if (req->newlen != sizeof action)
        return EINVAL;
    if (int in_err = SYSCTL_IN(req, &action, sizeof action); in_err != 0)
        return in_err;
    switch (action) {
    case KXSTEST_ACTION_CLASH: sysctl_register_oid(&sysctl__debug_kxstest_clash); return 0;
    case KXSTEST_ACTION_ORPHAN: sysctl_register_oid(&sysctl__debug_kxsorphanage_orphan); return 0;
    case KXSTEST_ACTION_OLD_STYLE: sysctl_register_oid(&g_old_style); return 0;
    case KXSTEST_ACTION_LEAK:
        if (!g_leaky_registered)
            sysctl_register_oid(&sysctl__debug_kxstest_leaky);
        g_leaky_registered = true;
        return 0;
    case KXSTEST_ACTION_BURST:
        for (int i = 0; i < KXSTEST_BURST_LINES; ++i)
            printf("burst line %d\n", i);
        return 0;
    case KXSTEST_ACTION_MARK: IOLog("mark %d\n", __atomic_add_fetch(&g_marks, 1, __ATOMIC_RELAXED)); return 0;
    default: return EINVAL;
    }
}

namespace {

sysctl_oid *const kOids[] = {
    &sysctl__debug_kxstest,         &sysctl__debug_kxstest_value,    &sysctl__debug_kxstest_label,
    &sysctl__debug_kxstest_doubled, &sysctl__debug_kxstest_readonly, &sysctl__debug_kxstest_anybody,
    &sysctl__debug_kxstest_hidden,  &sysctl__debug_kxstest_slow,     &sysctl__debug_kxstest_action};
constexpr int kOidCount = sizeof kOids / sizeof kOids[0];

errno_t ctl_connect(kern_ctl_ref, struct sockaddr_ctl *sac, void **unitinfo)
{
    *unitinfo = nullptr;
    printf("ctl_connect unit %u\n", sac->sc_unit);
    return 0;
}

errno_t ctl_disconnect(kern_ctl_ref, u_int32_t unit, void *)
{
    IOLog("ctl_disconnect unit %u\n", unit);
    return 0;
}

} // namespace

extern "C" kern_return_t kxstest_start(kmod_info_t *, void *)
{
    printf("printf from start: value=%d\n", g_value);
    IOLog("IOLog from start: label=%s\n", g_label);
    os_log(OS_LOG_DEFAULT, "os_log from start");
    os_log_error(OS_LOG_DEFAULT, "os_log_error from start");

    kern_ctl_reg reg;
    memset(&reg, 0, sizeof reg);
    strlcpy(reg.ctl_name, KXSTEST_CONTROL_NAME, sizeof reg.ctl_name);
    reg.ctl_connect = ctl_connect;
    reg.ctl_disconnect = ctl_disconnect;
    if (errno_t err = ctl_register(&reg, &g_ctl); err != 0) {
        os_log_error(OS_LOG_DEFAULT, "ctl_register failed: %d", err);
        return KERN_FAILURE;
    }
    // Parents first, as XNU requires.
    for (int i = 0; i < kOidCount; ++i)
        sysctl_register_oid(kOids[i]);
    return KERN_SUCCESS;
}

extern "C" kern_return_t kxstest_stop(kmod_info_t *, void *)
{
    if (errno_t err = ctl_deregister(g_ctl); err != 0) {
        os_log_error(OS_LOG_DEFAULT, "refusing to stop: ctl_deregister: %d", err);
        return KERN_FAILURE;
    }
    // Children first; waits for handler calls in flight (debug.kxstest.slow).
    for (int i = kOidCount - 1; i >= 0; --i)
        sysctl_unregister_oid(kOids[i]);
    printf("stop: OIDs unregistered\n");
    return KERN_SUCCESS;
}

extern "C" {
KMOD_EXPLICIT_DECL(org.kextconf.test.sysctl, KEXTCONF_KEXT_VERSION, kxstest_start, kxstest_stop)
}
