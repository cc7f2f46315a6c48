// org.kextconf.test.future: registers the admin and query controls a kextconf
// kext has and answers KC_OPT_HELLO as a kext from a later release would:
// it speaks only protocol versions above this tree's KC_PROTO_VERSION.
// Everything else is refused, as a kext would refuse a client it cannot
// serve. kextconfd and kextconfctl must stop at hello with a clear message.
#include <kextconf/proto.h>
#include <mach/kmod.h>
#include <string.h>
#include <sys/errno.h>
#include <sys/kern_control.h>

namespace {

#define FUTURE_BUNDLE_ID "org.kextconf.test.future"
constexpr uint32_t kFutureVersion = KC_PROTO_VERSION + 1;

kern_ctl_ref g_admin = nullptr;
kern_ctl_ref g_query = nullptr;

errno_t on_connect(kern_ctl_ref, struct sockaddr_ctl *, void **unitinfo)
{
    *unitinfo = nullptr;
    return 0;
}

errno_t on_disconnect(kern_ctl_ref, u_int32_t, void *)
{
    return 0;
}

errno_t on_setopt(kern_ctl_ref, u_int32_t, void *, int, void *, size_t)
{
    return ENOTSUP;
}

errno_t on_getopt(kern_ctl_ref, u_int32_t, void *, int opt, void *data, size_t *len)
{
    if (opt != KC_OPT_HELLO)
        return ENOTSUP;
    if (data == nullptr || *len < sizeof(kc_hello_reply)) {
        *len = sizeof(kc_hello_reply);
        return data == nullptr ? 0 : EINVAL;
    }
    kc_hello_reply r;
    memset(&r, 0, sizeof r);
    r.proto_version = kFutureVersion;
    r.min_proto_version = kFutureVersion;
    r.max_option_len = KC_OPT_MAX_LEN;
    strlcpy(r.kext_version, KEXTCONF_KEXT_VERSION, sizeof r.kext_version);
    strlcpy(r.bundle_id, FUTURE_BUNDLE_ID, sizeof r.bundle_id);
    memcpy(data, &r, sizeof r);
    *len = sizeof r;
    return 0;
}

errno_t register_control(const char *name, uint32_t flags, kern_ctl_ref *ref)
{
    kern_ctl_reg reg;
    memset(&reg, 0, sizeof reg);
    strlcpy(reg.ctl_name, name, sizeof reg.ctl_name);
    reg.ctl_flags = flags;
    reg.ctl_connect = on_connect;
    reg.ctl_disconnect = on_disconnect;
    reg.ctl_setopt = on_setopt;
    reg.ctl_getopt = on_getopt;
    return ctl_register(&reg, ref);
}

} // namespace

extern "C" kern_return_t future_start(kmod_info_t *, void *)
{
    if (register_control(FUTURE_BUNDLE_ID, CTL_FLAG_PRIVILEGED, &g_admin) != 0)
        return KERN_FAILURE;
    if (register_control(FUTURE_BUNDLE_ID KC_QUERY_SUFFIX, 0, &g_query) != 0) {
        ctl_deregister(g_admin);
        return KERN_FAILURE;
    }
    return KERN_SUCCESS;
}

extern "C" kern_return_t future_stop(kmod_info_t *, void *)
{
    if (ctl_deregister(g_query) != 0 || ctl_deregister(g_admin) != 0)
        return KERN_FAILURE;
    return KERN_SUCCESS;
}

extern "C" {
KMOD_EXPLICIT_DECL(org.kextconf.test.future, KEXTCONF_KEXT_VERSION, future_start, future_stop)
}
