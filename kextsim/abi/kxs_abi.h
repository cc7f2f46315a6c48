/*
 * The narrow table between kextsim's two compilation domains.
 *
 *  - The kernel domain (kextsim/kernel/, compiled against kextsim/xnu/, the
 *    XNU-shaped headers) implements the KPIs a kext calls and turns them into
 *    kxs_host_* calls.
 *  - The host domain (kextsim/host/, compiled against the host's libc) owns
 *    all state: controls, clients, event listeners, memory and lock tracking;
 *    it calls back into the kernel domain through kxs_kern_* to run a kext's
 *    callbacks.
 *
 * Only fixed-width integers, size_t and opaque pointers cross; no header of
 * either domain is visible to the other. Errno values crossing here are
 * Darwin's (KXS_E* below): the host converts at its own edges.
 */
#ifndef KEXTSIM_KXS_ABI_H
#define KEXTSIM_KXS_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KXS_ABI_VERSION 2

/* Darwin errno values used across the table. */
#define KXS_EPERM 1
#define KXS_ENOENT 2
#define KXS_ENOMEM 12
#define KXS_EBUSY 16
#define KXS_EEXIST 17
#define KXS_EINVAL 22
#define KXS_EMSGSIZE 40
#define KXS_EPROTOTYPE 41
#define KXS_ENOTSUP 45
#define KXS_ENOBUFS 55
#define KXS_ENOTCONN 57

/* ---- kernel control (host side) ---- */
struct kxs_ctl_params {
    const char *name;    /* NUL-terminated, validated by the kernel domain */
    uint32_t flags;      /* CTL_FLAG_* */
    uint32_t id;         /* in: requested id with REG_ID_UNIT; out: assigned id */
    uint32_t unit;       /* REG_ID_UNIT only */
    uint32_t sendsize;   /* in: 0 = default; out: effective */
    uint32_t recvsize;   /* in: 0 = default; out: effective */
    void *kernel_cookie; /* handed back on every kxs_kern_ctl_* upcall */
};
int32_t kxs_host_ctl_register(struct kxs_ctl_params *params, uint64_t *handle);
int32_t kxs_host_ctl_deregister(uint64_t handle);
int32_t kxs_host_ctl_enqueue(uint64_t handle, uint32_t unit, const void *data, size_t len, uint32_t flags);
int32_t kxs_host_ctl_space(uint64_t handle, uint32_t unit, size_t *space);

/* ---- kernel control (kernel-domain upcalls; run without host locks held) ---- */
int32_t kxs_kern_ctl_connect(void *kernel_cookie, uint64_t handle, uint32_t id, uint32_t unit, void **unitinfo);
void kxs_kern_ctl_disconnect(void *kernel_cookie, uint64_t handle, uint32_t unit, void *unitinfo);
int32_t kxs_kern_ctl_setopt(void *kernel_cookie, uint64_t handle, uint32_t unit, void *unitinfo, int32_t opt,
                            void *data, size_t len);
int32_t kxs_kern_ctl_getopt(void *kernel_cookie, uint64_t handle, uint32_t unit, void *unitinfo, int32_t opt,
                            void *data, size_t *len);
/* Frees the kernel domain's copy of the registration after a deregister. */
void kxs_kern_ctl_release(void *kernel_cookie);

/* ---- kernel events ---- */
int32_t kxs_host_kev_vendor_code(const char *vendor, uint32_t *code);
int32_t kxs_host_kev_post(uint32_t vendor, uint32_t kev_class, uint32_t subclass, uint32_t code, const void *data,
                          size_t len);

/* ---- memory: every kext allocation, attributed to a tag for leak reports ---- */
void *kxs_host_tag_new(const char *name, uint32_t flags);
void kxs_host_tag_free(void *tag);
void *kxs_host_alloc(void *tag, size_t size, int can_block);
void kxs_host_free(void *tag, void *addr, size_t size);

/* ---- locks (opaque host objects; misuse aborts with a message) ----
 * `caller` is the return address in the kext, so a message can name the
 * function that misused the lock. */
void *kxs_host_lock_new(int kind); /* KXS_LOCK_* */
void kxs_host_lock_free(void *lock, const void *caller);
void kxs_host_lock(void *lock, int shared, const void *caller);
void kxs_host_unlock(void *lock, int shared, const void *caller);
int kxs_host_try_lock(void *lock, int shared, const void *caller);
/* lck_rw_lock_shared_to_exclusive: 1 upgraded; 0 failed, and the shared
 * hold is DROPPED (as in XNU). Fails when another upgrade is pending, or on
 * demand through fault injection (site "rw_upgrade"). */
int kxs_host_lock_upgrade(void *lock, const void *caller);
void kxs_host_lock_downgrade(void *lock, const void *caller);
/* lck_mtx_assert: owned 1 = LCK_MTX_ASSERT_OWNED, 0 = NOTOWNED. */
void kxs_host_lock_assert(void *lock, int owned, const void *caller);
/* msleep: releases `mutex_lock` (a KXS_LOCK_MTX, or NULL) while waiting on
 * chan for wakeup() or timeout_ns (< 0: no timeout); re-takes it unless
 * drop. Returns 1 when woken, 0 on timeout. */
int kxs_host_msleep(void *chan, void *mutex_lock, int64_t timeout_ns, int drop, const void *caller);
void kxs_host_wakeup(void *chan);
#define KXS_LOCK_MTX 1
#define KXS_LOCK_RW 2
#define KXS_LOCK_SPIN 3

/* ---- thread calls (osfmk/kern/thread_call.c semantics) ----
 * The host keeps each call (owner kext, state) and runs due calls on its
 * timer thread through kxs_kern_tcall_run, attributed to the owner kext.
 * Deadlines are absolute time (kxs_host_uptime_ns); 0 means "now". */
void *kxs_host_tcall_new(void *func, void *param0, uint32_t options); /* THREAD_CALL_OPTIONS_* */
/* 1 if the call was pending (the pending invocation is replaced), else 0. */
int kxs_host_tcall_enter(void *call, void *param1, uint64_t deadline);
int kxs_host_tcall_cancel(void *call); /* 1 if a pending invocation was removed */
int kxs_host_tcall_free(void *call);   /* 0 (no effect) while pending */
/* Upcall on the timer thread: func(param0, param1). No host lock held. */
void kxs_kern_tcall_run(void *func, void *param0, void *param1);

/* ---- the process a kext callback runs on behalf of (proc_selfpid, kauth_getuid) ----
 * The client whose syscall runs the callback; pid 0 / uid 0 (kernel_task)
 * on kextsim's own threads such as the timer thread. */
void kxs_host_current_proc(int32_t *pid, uint32_t *uid);

/* ---- clocks: nanoseconds (wall clock since the epoch / monotonic since boot) ---- */
uint64_t kxs_host_wall_ns(void);
uint64_t kxs_host_uptime_ns(void);

/* ---- logging and fatal errors ---- */
void kxs_host_log(int level, const char *msg);
__attribute__((noreturn)) void kxs_host_panic(const char *msg);

/* Prepares the kernel domain; the host calls it once before loading kexts. */
void kxs_kern_init(void);

/* ---- kmod entry points (kernel-domain upcalls on a dlsym'd kmod_info) ---- */
int32_t kxs_kern_kmod_start(void *kmod_info);
int32_t kxs_kern_kmod_stop(void *kmod_info);
/* Copies the kmod name and version into buf (NUL-terminated, truncated). */
void kxs_kern_kmod_names(void *kmod_info, char *name, size_t name_len, char *version, size_t version_len);

/* ---- attribution: the kext whose code the calling thread runs ----
 * An opaque token (-1: none, i.e. kextsim itself). The kernel domain saves it
 * when a kext registers a control and sets it around that control's
 * callbacks, so their log lines, tags and OIDs are the kext's. */
int32_t kxs_host_current_kext(void);
int32_t kxs_host_set_current_kext(int32_t kext); /* returns the previous value */

/* ---- sysctl: the tree is the host's; the OIDs stay in the kext ---- */
struct kxs_sysctl_oid_params {
    void *oid;           /* the kext's struct sysctl_oid, handed back on kxs_kern_sysctl_call */
    void *parent;        /* its oid_parent list, NULL for the top level (sysctl__children) */
    void *children;      /* a CTLTYPE_NODE's own list (oid_arg1), else NULL */
    int32_t number;      /* -1 (OID_AUTO) or an explicit number */
    uint32_t kind;       /* oid_kind: CTLTYPE_* | CTLFLAG_* */
    int32_t has_handler; /* oid_handler is set (a node with one is read like a leaf) */
    const char *name;    /* NUL-terminated; copied */
    const char *fmt;     /* may be NULL; copied */
    const char *descr;   /* may be NULL; copied */
};
/* Registers an OID; returns the number it got (OID_AUTO: from 100 up).
 * Panics (names the OID) if its parent node is not registered, the number is
 * taken or the OID is already registered. */
int32_t kxs_host_sysctl_register(const struct kxs_sysctl_oid_params *params);
/* Unregisters; returns once no handler call on it is in flight. Panics if
 * the OID is not registered. `name` is only for that message. */
void kxs_host_sysctl_unregister(void *oid, const char *name);
/* Upcall: runs the OID's handler for one request, like sysctl(2) from user
 * space. old: output buffer (NULL to ask for the size), *oldidx is what the
 * handler produced; new: the value to set (NULL: read only). Returns the
 * handler's Darwin errno. Runs without host locks held. */
int32_t kxs_kern_sysctl_call(void *oid, void *old, size_t oldlen, size_t *oldidx, const void *new_value, size_t newlen);

#ifdef __cplusplus
}
#endif

#endif /* KEXTSIM_KXS_ABI_H */
