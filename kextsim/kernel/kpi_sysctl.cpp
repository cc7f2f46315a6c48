// Kernel-domain half of the sysctl KPI: the exported top-level nodes, the
// checks XNU's sysctl_register_oid makes on the struct itself, the stock
// handlers (sysctl_handle_*, sysctl_io_*), and the upcall that runs a handler
// for the host with user-space copy semantics (kern_newsysctl.c). The tree,
// numbering, permissions and in-flight accounting are the host's
// (kextsim/host/sysctl.cpp).
#include <libkern/libkern.h>
#include <string.h>
#include <sys/errno.h>
#include <sys/sysctl.h>

#include "../abi/kxs_abi.h"
#include "kernel_init.h"

namespace {
// XNU_KERNEL_PRIVATE flag: the kernel's own immutable OIDs. A kext setting it
// makes sysctl_register_oid panic.
constexpr int kCtlFlagPermanent = 0x00200000;
constexpr int kVfsGeneric = 0;
} // namespace

// The top level and the nodes third-party kexts hang OIDs from, with XNU's
// numbers (CTL_KERN...); registered by kxs_kern_init. Only the lists are
// exported to kexts (BSDKernel), so the node OIDs themselves are hidden.
struct sysctl_oid_list sysctl__children;
struct sysctl_oid_list sysctl__sysctl_children;
struct sysctl_oid_list sysctl__kern_children;
struct sysctl_oid_list sysctl__vm_children;
struct sysctl_oid_list sysctl__vfs_children;
struct sysctl_oid_list sysctl__net_children;
struct sysctl_oid_list sysctl__debug_children;
struct sysctl_oid_list sysctl__machdep_children;
struct sysctl_oid_list sysctl__vfs_generic_children;

#define KEXTSIM_TOP_NODE(parent, nbr, name, descr)                                                                     \
    __attribute__((visibility("hidden"))) SYSCTL_OID(parent, nbr, name, CTLTYPE_NODE | CTLFLAG_RW | CTLFLAG_LOCKED,    \
                                                     &sysctl_##parent##_##name##_children, 0, 0, "N", descr)
KEXTSIM_TOP_NODE(, 0, sysctl, "Sysctl internal magic");
KEXTSIM_TOP_NODE(, 1, kern, "High kernel, proc, limits &c");
KEXTSIM_TOP_NODE(, 2, vm, "Virtual memory");
KEXTSIM_TOP_NODE(, 3, vfs, "File system");
KEXTSIM_TOP_NODE(, 4, net, "Network, (see socket.h)");
KEXTSIM_TOP_NODE(, 5, debug, "Debugging");
KEXTSIM_TOP_NODE(, 7, machdep, "machine dependent");
KEXTSIM_TOP_NODE(_vfs, kVfsGeneric, generic, "vfs generic hinge");

void kextsim_sysctl_init()
{
    static sysctl_oid *const kBuiltin[] = {&sysctl__sysctl, &sysctl__kern,  &sysctl__vm,      &sysctl__vfs,
                                           &sysctl__net,    &sysctl__debug, &sysctl__machdep, &sysctl__vfs_generic};
    for (sysctl_oid *oid : kBuiltin)
        sysctl_register_oid(oid);
}

extern "C" void sysctl_register_oid(struct sysctl_oid *oidp)
{
    char msg[256];
    const char *name = oidp->oid_name != nullptr ? oidp->oid_name : "(null)";
    if (oidp->oid_number < OID_AUTO) {
        snprintf(msg, sizeof msg, "sysctl_register_oid: \"%s\" has an invalid oid_number %d", name, oidp->oid_number);
        kxs_host_panic(msg);
    }
    if (oidp->oid_kind & kCtlFlagPermanent) {
        snprintf(msg, sizeof msg, "sysctl_register_oid: \"%s\" has CTLFLAG_PERMANENT (kernel-private)", name);
        kxs_host_panic(msg);
    }
    if (!(oidp->oid_kind & CTLFLAG_OID2)) {
        // x86_64 XNU copies old-style OIDs; arm64 panics. kextsim holds every
        // kext to the arm64 rule.
        snprintf(msg, sizeof msg,
                 "sysctl_register_oid: \"%s\" is an old-style OID without CTLFLAG_OID2 (arm64 XNU panics: "
                 "declare it with the SYSCTL_* macros)",
                 name);
        kxs_host_panic(msg);
    }
    if (oidp->oid_version != SYSCTL_OID_VERSION) {
        // XNU silently ignores OID versions it does not know; say so.
        snprintf(msg, sizeof msg, "sysctl_register_oid: \"%s\" has oid_version %d; ignored, as XNU does", name,
                 oidp->oid_version);
        kxs_host_log(0x10 /* OS_LOG_TYPE_ERROR */, msg);
        return;
    }
    if (oidp->oid_name == nullptr || oidp->oid_name[0] == '\0' || oidp->oid_parent == nullptr)
        kxs_host_panic("sysctl_register_oid: OID without a name or a parent list");

    kxs_sysctl_oid_params p{};
    p.oid = oidp;
    p.parent = oidp->oid_parent == &sysctl__children ? nullptr : oidp->oid_parent;
    p.children = (oidp->oid_kind & CTLTYPE) == CTLTYPE_NODE ? oidp->oid_arg1 : nullptr;
    p.number = oidp->oid_number;
    p.kind = static_cast<uint32_t>(oidp->oid_kind);
    p.has_handler = oidp->oid_handler != nullptr;
    p.name = oidp->oid_name;
    p.fmt = oidp->oid_fmt;
    p.descr = oidp->oid_descr;
    // XNU writes an OID_AUTO number back into the caller's OID.
    oidp->oid_number = kxs_host_sysctl_register(&p);
}

extern "C" void sysctl_unregister_oid(struct sysctl_oid *oidp)
{
    kxs_host_sysctl_unregister(oidp, oidp->oid_name != nullptr ? oidp->oid_name : "(null)");
}

// ---- stock handlers (semantics of kern_newsysctl.c) ----
// sysctl_io_* are declared in <sys/sysctl.h> but not exported to kexts (no
// KPI bundle lists them), so they are hidden here too: a kext calling one
// fails to load under kextsim as it would fail to link on macOS.
#define KEXTSIM_NOT_A_KPI __attribute__((visibility("hidden")))

extern "C" KEXTSIM_NOT_A_KPI int sysctl_io_number(struct sysctl_req *req, long long bigValue, size_t valueSize,
                                                  void *pValue, int *changed)
{
    if (changed != nullptr)
        *changed = 0;
    int error;
    int small;
    // Generous with a 32-bit buffer for a 64-bit value, as XNU is.
    if ((valueSize == sizeof(int) || (req->oldlen == sizeof(int) && valueSize == sizeof(long long))) &&
        req->oldptr != 0) {
        small = static_cast<int>(bigValue);
        if (static_cast<long long>(small) != bigValue)
            return ERANGE;
        error = SYSCTL_OUT(req, &small, sizeof small);
    } else {
        error = SYSCTL_OUT(req, &bigValue, valueSize);
    }
    if (error != 0 || req->newptr == 0)
        return error;
    if (pValue == nullptr)
        return EPERM; // a constant
    if (req->newlen == sizeof(int) && valueSize == sizeof(long long)) {
        error = SYSCTL_IN(req, &small, sizeof small);
        if (error == 0)
            *static_cast<long long *>(pValue) = small;
    } else if (req->newlen == sizeof(long long) && valueSize == sizeof(int)) {
        error = SYSCTL_IN(req, &bigValue, sizeof bigValue);
        if (error == 0) {
            small = static_cast<int>(bigValue);
            if (static_cast<long long>(small) != bigValue)
                return ERANGE;
            *static_cast<int *>(pValue) = small;
        }
    } else {
        error = SYSCTL_IN(req, pValue, valueSize);
    }
    if (error == 0 && changed != nullptr)
        *changed = 1;
    return error;
}

extern "C" KEXTSIM_NOT_A_KPI int sysctl_io_string(struct sysctl_req *req, char *pValue, size_t valueSize, int trunc,
                                                  int *changed)
{
    if (changed != nullptr)
        *changed = 0;
    const size_t len = strlen(pValue) + 1;
    int error;
    if (trunc && req->oldptr != 0 && req->oldlen != 0 && req->oldlen < len) {
        error = SYSCTL_OUT(req, pValue, req->oldlen - 1);
        if (error == 0) {
            const char nul = '\0';
            error = SYSCTL_OUT(req, &nul, 1);
        }
    } else {
        error = SYSCTL_OUT(req, pValue, len);
    }
    if (error != 0 || req->newptr == 0)
        return error;
    if (valueSize == 0)
        return EPERM; // a constant string
    if (req->newlen >= valueSize)
        return EINVAL; // no room for it and its NUL
    error = SYSCTL_IN(req, pValue, req->newlen);
    pValue[req->newlen] = '\0';
    if (error == 0 && changed != nullptr)
        *changed = 1;
    return error;
}

extern "C" KEXTSIM_NOT_A_KPI int sysctl_io_opaque(struct sysctl_req *req, void *pValue, size_t valueSize, int *changed)
{
    if (changed != nullptr)
        *changed = 0;
    int error = SYSCTL_OUT(req, pValue, valueSize);
    if (error != 0 || req->newptr == 0)
        return error;
    error = SYSCTL_IN(req, pValue, valueSize);
    if (error == 0 && changed != nullptr)
        *changed = 1;
    return error;
}

extern "C" int sysctl_handle_int(struct sysctl_oid *, void *arg1, int arg2, struct sysctl_req *req)
{
    return sysctl_io_number(req, arg1 != nullptr ? *static_cast<int *>(arg1) : arg2, sizeof(int), arg1, nullptr);
}

extern "C" int sysctl_handle_long(struct sysctl_oid *, void *arg1, int, struct sysctl_req *req)
{
    if (arg1 == nullptr)
        return EINVAL;
    return sysctl_io_number(req, *static_cast<long *>(arg1), sizeof(long), arg1, nullptr);
}

extern "C" int sysctl_handle_quad(struct sysctl_oid *, void *arg1, int, struct sysctl_req *req)
{
    if (arg1 == nullptr)
        return EINVAL;
    return sysctl_io_number(req, *static_cast<long long *>(arg1), sizeof(long long), arg1, nullptr);
}

extern "C" int sysctl_handle_int2quad(struct sysctl_oid *, void *arg1, int, struct sysctl_req *req)
{
    if (arg1 == nullptr)
        return EINVAL;
    long long val = *static_cast<int *>(arg1);
    int error = SYSCTL_OUT(req, &val, sizeof val);
    if (error != 0 || req->newptr == 0)
        return error;
    error = SYSCTL_IN(req, &val, sizeof val);
    if (error == 0) {
        const int narrowed = static_cast<int>(val);
        if (static_cast<long long>(narrowed) != val)
            return ERANGE;
        *static_cast<int *>(arg1) = narrowed;
    }
    return error;
}

extern "C" int sysctl_handle_string(struct sysctl_oid *, void *arg1, int arg2, struct sysctl_req *req)
{
    return sysctl_io_string(req, static_cast<char *>(arg1), static_cast<size_t>(arg2), 0, nullptr);
}

extern "C" int sysctl_handle_opaque(struct sysctl_oid *, void *arg1, int arg2, struct sysctl_req *req)
{
    return sysctl_io_opaque(req, arg1, static_cast<size_t>(arg2), nullptr);
}

// ---- the upcall: one request from user space (sysctl_old_user / sysctl_new_user) ----

namespace {

int copy_out(struct sysctl_req *req, const void *p, size_t l)
{
    if (req->oldptr != 0) {
        if (req->oldlen - req->oldidx < l)
            return ENOMEM; // nothing copied, oldidx unchanged
        if (l > 0)
            memcpy(reinterpret_cast<char *>(static_cast<uintptr_t>(req->oldptr)) + req->oldidx, p, l);
    }
    req->oldidx += l;
    return 0;
}

int copy_in(struct sysctl_req *req, void *p, size_t l)
{
    if (req->newptr == 0)
        return 0;
    if (req->newlen - req->newidx < l)
        return EINVAL;
    if (l > 0)
        memcpy(p, reinterpret_cast<const char *>(static_cast<uintptr_t>(req->newptr)) + req->newidx, l);
    req->newidx += l;
    return 0;
}

} // namespace

extern "C" int32_t kxs_kern_sysctl_call(void *oid, void *old, size_t oldlen, size_t *oldidx, const void *new_value,
                                        size_t newlen)
{
    auto *oidp = static_cast<sysctl_oid *>(oid);
    sysctl_req req{};
    req.p = nullptr; // kextsim has no struct proc; permission checks are the host's
    req.lock = 1;
    req.oldptr = reinterpret_cast<uintptr_t>(old);
    req.oldlen = old != nullptr ? oldlen : 0;
    req.oldfunc = copy_out;
    req.newptr = reinterpret_cast<uintptr_t>(new_value);
    req.newlen = new_value != nullptr ? newlen : 0;
    req.newfunc = copy_in;
    int error = EINVAL; // an OID without a handler
    if (oidp->oid_handler != nullptr) {
        if ((oidp->oid_kind & CTLTYPE) == CTLTYPE_NODE)
            error = oidp->oid_handler(oidp, nullptr, 0, &req); // no name components left
        else
            error = oidp->oid_handler(oidp, oidp->oid_arg1, oidp->oid_arg2, &req);
    }
    *oldidx = req.oldidx;
    return error;
}
