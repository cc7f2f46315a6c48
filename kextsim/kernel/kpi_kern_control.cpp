// Kernel-domain half of the kernel control KPI: validates what the kext
// passes exactly as XNU's kern_control.c does, keeps the kext's registration
// (callbacks), and forwards the rest to the host through kxs_abi.h.
#include <string.h>
#include <sys/errno.h>
#include <sys/kern_control.h>

#include "../abi/kxs_abi.h"
#include "kernel_alloc.h"

namespace {

// One registration. The kern_ctl_ref a kext holds is the host handle (an
// id-derived value, never a pointer), so a stale ref is detected, not followed.
struct Registration {
    kern_ctl_reg reg;
    uint64_t handle;
    int32_t owner; // the kext that registered it (kxs_host_current_kext)
};

// Runs a callback as the kext that registered the control: what it logs,
// allocates or registers is that kext's, whichever thread the host uses.
class AsOwner {
public:
    explicit AsOwner(const Registration *r) : prev_(kxs_host_set_current_kext(r->owner)) {}
    ~AsOwner() { kxs_host_set_current_kext(prev_); }
    AsOwner(const AsOwner &) = delete;
    AsOwner &operator=(const AsOwner &) = delete;

private:
    int32_t prev_;
};

kern_ctl_ref ref_of(uint64_t handle)
{
    return reinterpret_cast<kern_ctl_ref>(static_cast<uintptr_t>(handle));
}

uint64_t handle_of(kern_ctl_ref ref)
{
    return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ref));
}

} // namespace

extern "C" errno_t ctl_register(struct kern_ctl_reg *userkctl, kern_ctl_ref *kctlref)
{
    if (userkctl == nullptr || kctlref == nullptr || userkctl->ctl_connect == nullptr)
        return EINVAL;
    const size_t name_len = strnlen(userkctl->ctl_name, MAX_KCTL_NAME);
    if (name_len == 0 || name_len == MAX_KCTL_NAME)
        return EINVAL;

    auto *r = static_cast<Registration *>(kextsim_kernel_alloc(sizeof(Registration)));
    if (r == nullptr)
        return ENOMEM;
    memcpy(&r->reg, userkctl, sizeof r->reg);
    r->owner = kxs_host_current_kext();

    kxs_ctl_params p{};
    p.name = r->reg.ctl_name;
    p.flags = userkctl->ctl_flags;
    p.id = userkctl->ctl_id;
    p.unit = userkctl->ctl_unit;
    p.sendsize = userkctl->ctl_sendsize;
    p.recvsize = userkctl->ctl_recvsize;
    p.kernel_cookie = r;
    const int32_t err = kxs_host_ctl_register(&p, &r->handle);
    if (err != 0) {
        kextsim_kernel_free(r, sizeof(Registration));
        return err;
    }
    // XNU writes the dynamic id and the effective buffer sizes back.
    userkctl->ctl_id = p.id;
    userkctl->ctl_sendsize = p.sendsize;
    userkctl->ctl_recvsize = p.recvsize;
    *kctlref = ref_of(r->handle);
    return 0;
}

extern "C" errno_t ctl_deregister(kern_ctl_ref kctlref)
{
    return kxs_host_ctl_deregister(handle_of(kctlref));
}

extern "C" errno_t ctl_enqueuedata(kern_ctl_ref kctlref, u_int32_t unit, void *data, size_t len, u_int32_t flags)
{
    return kxs_host_ctl_enqueue(handle_of(kctlref), unit, data, len, flags);
}

extern "C" errno_t ctl_enqueuembuf(kern_ctl_ref, u_int32_t, mbuf_t, u_int32_t)
{
    // The mbuf KPI is deprecated; kextconf kexts never use it. Fail loudly.
    kxs_host_panic("kextsim: ctl_enqueuembuf is not supported (mbuf KPI is deprecated; use ctl_enqueuedata)");
}

extern "C" errno_t ctl_getenqueuespace(kern_ctl_ref kctlref, u_int32_t unit, size_t *space)
{
    if (space == nullptr)
        return EINVAL;
    return kxs_host_ctl_space(handle_of(kctlref), unit, space);
}

// ---- upcalls from the host: run the kext's callbacks ----

extern "C" int32_t kxs_kern_ctl_connect(void *cookie, uint64_t handle, uint32_t id, uint32_t unit, void **unitinfo)
{
    auto *r = static_cast<Registration *>(cookie);
    sockaddr_ctl sac{};
    sac.sc_len = sizeof sac;
    sac.sc_family = 32; // AF_SYSTEM
    sac.ss_sysaddr = 2; // AF_SYS_CONTROL
    sac.sc_id = id;
    sac.sc_unit = unit;
    AsOwner as_owner(r);
    return r->reg.ctl_connect(ref_of(handle), &sac, unitinfo);
}

extern "C" void kxs_kern_ctl_disconnect(void *cookie, uint64_t handle, uint32_t unit, void *unitinfo)
{
    auto *r = static_cast<Registration *>(cookie);
    if (r->reg.ctl_disconnect != nullptr) {
        AsOwner as_owner(r);
        r->reg.ctl_disconnect(ref_of(handle), unit, unitinfo);
    }
}

extern "C" int32_t kxs_kern_ctl_setopt(void *cookie, uint64_t handle, uint32_t unit, void *unitinfo, int32_t opt,
                                       void *data, size_t len)
{
    auto *r = static_cast<Registration *>(cookie);
    if (r->reg.ctl_setopt == nullptr)
        return ENOTSUP;
    AsOwner as_owner(r);
    return r->reg.ctl_setopt(ref_of(handle), unit, unitinfo, opt, data, len);
}

extern "C" int32_t kxs_kern_ctl_getopt(void *cookie, uint64_t handle, uint32_t unit, void *unitinfo, int32_t opt,
                                       void *data, size_t *len)
{
    auto *r = static_cast<Registration *>(cookie);
    if (r->reg.ctl_getopt == nullptr)
        return ENOTSUP;
    AsOwner as_owner(r);
    return r->reg.ctl_getopt(ref_of(handle), unit, unitinfo, opt, data, len);
}

extern "C" void kxs_kern_ctl_release(void *cookie)
{
    kextsim_kernel_free(cookie, sizeof(Registration));
}
