// Kernel-domain lock KPI: every lock is a host object (pthread-backed, with
// ownership checks). Groups and attributes carry no state in kextsim but are
// real allocations, so leaking one shows up in the leak report.
#include <kern/locks.h>

#include "../abi/kxs_abi.h"
#include "kernel_alloc.h"

struct __lck_grp_attr_t__ {
    int unused;
};
struct __lck_grp_t__ {
    int unused;
};
struct __lck_attr_t__ {
    int unused;
};

extern "C" {

lck_grp_attr_t *lck_grp_attr_alloc_init(void)
{
    return static_cast<lck_grp_attr_t *>(kextsim_kernel_alloc(sizeof(lck_grp_attr_t)));
}
void lck_grp_attr_setdefault(lck_grp_attr_t *)
{
}
void lck_grp_attr_setstat(lck_grp_attr_t *)
{
}
void lck_grp_attr_free(lck_grp_attr_t *attr)
{
    kextsim_kernel_free(attr, sizeof(lck_grp_attr_t));
}
lck_grp_t *lck_grp_alloc_init(const char *, lck_grp_attr_t *)
{
    return static_cast<lck_grp_t *>(kextsim_kernel_alloc(sizeof(lck_grp_t)));
}
void lck_grp_free(lck_grp_t *grp)
{
    kextsim_kernel_free(grp, sizeof(lck_grp_t));
}
lck_attr_t *lck_attr_alloc_init(void)
{
    return static_cast<lck_attr_t *>(kextsim_kernel_alloc(sizeof(lck_attr_t)));
}
void lck_attr_setdefault(lck_attr_t *)
{
}
void lck_attr_free(lck_attr_t *attr)
{
    kextsim_kernel_free(attr, sizeof(lck_attr_t));
}

// Every lock call passes the kext's return address so misuse messages can
// name the kext function.
#define KXS_CALLER __builtin_return_address(0)

lck_mtx_t *lck_mtx_alloc_init(lck_grp_t *, lck_attr_t *)
{
    return static_cast<lck_mtx_t *>(kxs_host_lock_new(KXS_LOCK_MTX));
}
void lck_mtx_lock(lck_mtx_t *lck)
{
    kxs_host_lock(lck, 0, KXS_CALLER);
}
void lck_mtx_unlock(lck_mtx_t *lck)
{
    kxs_host_unlock(lck, 0, KXS_CALLER);
}
void lck_mtx_free(lck_mtx_t *lck, lck_grp_t *)
{
    kxs_host_lock_free(lck, KXS_CALLER);
}
void lck_mtx_assert(lck_mtx_t *lck, unsigned int type)
{
    if (type != LCK_MTX_ASSERT_OWNED && type != LCK_MTX_ASSERT_NOTOWNED)
        kxs_host_panic("lck_mtx_assert: invalid assertion type");
    kxs_host_lock_assert(lck, type == LCK_MTX_ASSERT_OWNED, KXS_CALLER);
}

lck_rw_t *lck_rw_alloc_init(lck_grp_t *, lck_attr_t *)
{
    return static_cast<lck_rw_t *>(kxs_host_lock_new(KXS_LOCK_RW));
}
void lck_rw_free(lck_rw_t *lck, lck_grp_t *)
{
    kxs_host_lock_free(lck, KXS_CALLER);
}
void lck_rw_lock(lck_rw_t *lck, lck_rw_type_t type)
{
    if (type != LCK_RW_TYPE_SHARED && type != LCK_RW_TYPE_EXCLUSIVE)
        kxs_host_panic("lck_rw_lock: invalid lock type");
    kxs_host_lock(lck, type == LCK_RW_TYPE_SHARED, KXS_CALLER);
}
void lck_rw_unlock(lck_rw_t *lck, lck_rw_type_t type)
{
    if (type != LCK_RW_TYPE_SHARED && type != LCK_RW_TYPE_EXCLUSIVE)
        kxs_host_panic("lck_rw_unlock: invalid lock type");
    kxs_host_unlock(lck, type == LCK_RW_TYPE_SHARED, KXS_CALLER);
}
void lck_rw_lock_shared(lck_rw_t *lck)
{
    kxs_host_lock(lck, 1, KXS_CALLER);
}
void lck_rw_unlock_shared(lck_rw_t *lck)
{
    kxs_host_unlock(lck, 1, KXS_CALLER);
}
void lck_rw_lock_exclusive(lck_rw_t *lck)
{
    kxs_host_lock(lck, 0, KXS_CALLER);
}
void lck_rw_unlock_exclusive(lck_rw_t *lck)
{
    kxs_host_unlock(lck, 0, KXS_CALLER);
}
boolean_t lck_rw_try_lock(lck_rw_t *lck, lck_rw_type_t type)
{
    if (type != LCK_RW_TYPE_SHARED && type != LCK_RW_TYPE_EXCLUSIVE)
        kxs_host_panic("lck_rw_try_lock: invalid lock type");
    return kxs_host_try_lock(lck, type == LCK_RW_TYPE_SHARED, KXS_CALLER) ? TRUE : FALSE;
}
boolean_t lck_rw_lock_shared_to_exclusive(lck_rw_t *lck)
{
    return kxs_host_lock_upgrade(lck, KXS_CALLER) ? TRUE : FALSE;
}
void lck_rw_lock_exclusive_to_shared(lck_rw_t *lck)
{
    kxs_host_lock_downgrade(lck, KXS_CALLER);
}

lck_spin_t *lck_spin_alloc_init(lck_grp_t *, lck_attr_t *)
{
    return static_cast<lck_spin_t *>(kxs_host_lock_new(KXS_LOCK_SPIN));
}
void lck_spin_lock(lck_spin_t *lck)
{
    kxs_host_lock(lck, 0, KXS_CALLER);
}
void lck_spin_unlock(lck_spin_t *lck)
{
    kxs_host_unlock(lck, 0, KXS_CALLER);
}
void lck_spin_free(lck_spin_t *lck, lck_grp_t *)
{
    kxs_host_lock_free(lck, KXS_CALLER);
}

} // extern "C"
