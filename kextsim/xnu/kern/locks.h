/* kextsim: XNU-shaped <kern/locks.h> (shared/reference/xnu-kpi.md section 5).
 * Lock types are incomplete for kexts, as in Kernel.framework. */
#ifndef _KERN_LOCKS_H_
#define _KERN_LOCKS_H_
#include <mach/mach_types.h>
#include <sys/types.h>

typedef struct __lck_grp_attr_t__ lck_grp_attr_t;
typedef struct __lck_grp_t__ lck_grp_t;
typedef struct __lck_attr_t__ lck_attr_t;
typedef struct __lck_mtx_t__ lck_mtx_t;
typedef struct __lck_rw_t__ lck_rw_t;
typedef struct __lck_spin_t__ lck_spin_t;
typedef unsigned int lck_rw_type_t;
typedef unsigned int lck_sleep_action_t;

#define LCK_GRP_ATTR_NULL ((lck_grp_attr_t *)0)
#define LCK_ATTR_NULL ((lck_attr_t *)0)
#define LCK_RW_TYPE_SHARED 0x01
#define LCK_RW_TYPE_EXCLUSIVE 0x02
#define LCK_SLEEP_DEFAULT 0x00
#define LCK_SLEEP_UNLOCK 0x01
#define LCK_SLEEP_SHARED 0x02
#define LCK_SLEEP_EXCLUSIVE 0x04
#define LCK_SLEEP_SPIN 0x08
#define LCK_MTX_ASSERT_OWNED 1
#define LCK_MTX_ASSERT_NOTOWNED 2

__BEGIN_DECLS
lck_grp_attr_t *lck_grp_attr_alloc_init(void);
void lck_grp_attr_setdefault(lck_grp_attr_t *attr);
void lck_grp_attr_setstat(lck_grp_attr_t *attr);
void lck_grp_attr_free(lck_grp_attr_t *attr);
lck_grp_t *lck_grp_alloc_init(const char *grp_name, lck_grp_attr_t *attr);
void lck_grp_free(lck_grp_t *grp);
lck_attr_t *lck_attr_alloc_init(void);
void lck_attr_setdefault(lck_attr_t *attr);
void lck_attr_free(lck_attr_t *attr);

lck_mtx_t *lck_mtx_alloc_init(lck_grp_t *grp, lck_attr_t *attr);
void lck_mtx_lock(lck_mtx_t *lck);
void lck_mtx_unlock(lck_mtx_t *lck);
void lck_mtx_free(lck_mtx_t *lck, lck_grp_t *grp);
/* Declared publicly; exported only by com.apple.kpi.unsupported. */
void lck_mtx_assert(lck_mtx_t *lck, unsigned int type);

lck_rw_t *lck_rw_alloc_init(lck_grp_t *grp, lck_attr_t *attr);
void lck_rw_free(lck_rw_t *lck, lck_grp_t *grp);
void lck_rw_lock(lck_rw_t *lck, lck_rw_type_t lck_rw_type);
void lck_rw_unlock(lck_rw_t *lck, lck_rw_type_t lck_rw_type);
void lck_rw_lock_shared(lck_rw_t *lck);
void lck_rw_unlock_shared(lck_rw_t *lck);
void lck_rw_lock_exclusive(lck_rw_t *lck);
void lck_rw_unlock_exclusive(lck_rw_t *lck);
boolean_t lck_rw_try_lock(lck_rw_t *lck, lck_rw_type_t lck_rw_type);
/* FALSE: the upgrade failed and the shared hold has been DROPPED. */
boolean_t lck_rw_lock_shared_to_exclusive(lck_rw_t *lck);
void lck_rw_lock_exclusive_to_shared(lck_rw_t *lck);

lck_spin_t *lck_spin_alloc_init(lck_grp_t *grp, lck_attr_t *attr);
void lck_spin_lock(lck_spin_t *lck);
void lck_spin_unlock(lck_spin_t *lck);
void lck_spin_free(lck_spin_t *lck, lck_grp_t *grp);
__END_DECLS

#endif /* _KERN_LOCKS_H_ */
