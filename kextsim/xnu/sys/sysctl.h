/*
 * kextsim: XNU-shaped <sys/sysctl.h>, the part a kext sees (KERNEL, not
 * XNU_KERNEL_PRIVATE); shared/reference/xnu-kpi.md section 7. Names, values,
 * macro parameters and the 80-byte LP64 struct sysctl_oid layout are those of
 * Kernel.framework. Implemented by kextsim/kernel/kpi_sysctl.cpp; the tree
 * itself lives in the host (kextsim/host/sysctl.cpp).
 *
 * As in XNU, a kext registers its OIDs itself (parents first) and
 * unregisters them before it stops.
 */
#ifndef _SYS_SYSCTL_H_
#define _SYS_SYSCTL_H_
#include <sys/cdefs.h>
#include <sys/queue.h>
#include <sys/types.h>

#define CTL_MAXNAME 12 /* deepest name, in components */

#define CTLTYPE 0xf /* type mask of oid_kind */
#define CTLTYPE_NODE 1
#define CTLTYPE_INT 2
#define CTLTYPE_STRING 3
#define CTLTYPE_QUAD 4
#define CTLTYPE_OPAQUE 5
#define CTLTYPE_STRUCT CTLTYPE_OPAQUE

#define CTLFLAG_RD 0x80000000
#define CTLFLAG_WR 0x40000000
#define CTLFLAG_RW (CTLFLAG_RD | CTLFLAG_WR)
#define CTLFLAG_NOLOCK 0x20000000
#define CTLFLAG_ANYBODY 0x10000000 /* writable by non-root */
#define CTLFLAG_SECURE 0x08000000
#define CTLFLAG_MASKED 0x04000000 /* hidden from sysctl -a */
#define CTLFLAG_NOAUTO 0x02000000
#define CTLFLAG_KERN 0x01000000
#define CTLFLAG_LOCKED 0x00800000 /* the handler does its own locking */
#define CTLFLAG_OID2 0x00400000   /* versioned struct sysctl_oid; set by the macros */
#define CTLFLAG_EXPERIMENT 0x00100000

#define OID_AUTO (-1)
#define OID_AUTO_START 100 /* OID_AUTO numbers are assigned from here up */

#define SYSCTL_OID_VERSION 1

struct proc;
struct sysctl_oid;
struct sysctl_req;

#define SYSCTL_HANDLER_ARGS                                                                                            \
    (struct sysctl_oid * oidp __unused, void *arg1 __unused, int arg2 __unused, struct sysctl_req *req)

/* One read and/or write of an OID: the caller's old (output) and new (input)
 * buffers; handlers move data only through SYSCTL_OUT / SYSCTL_IN. */
struct sysctl_req {
    struct proc *p;
    int lock;
    user_addr_t oldptr;
    size_t oldlen;
    size_t oldidx;
    int (*oldfunc)(struct sysctl_req *, const void *, size_t);
    user_addr_t newptr;
    size_t newlen;
    size_t newidx;
    int (*newfunc)(struct sysctl_req *, void *, size_t);
};

SLIST_HEAD(sysctl_oid_list, sysctl_oid);

struct sysctl_oid {
    struct sysctl_oid_list *oid_parent;
    SLIST_ENTRY(sysctl_oid) oid_link;
    int oid_number;
    int oid_kind;
    void *oid_arg1;
    int oid_arg2;
    const char *oid_name;
    int(*oid_handler) SYSCTL_HANDLER_ARGS;
    const char *oid_fmt;
    const char *oid_descr;
    int oid_version;
    int oid_refcnt;
};

#define SYSCTL_IN(r, p, l) (r->newfunc)(r, p, l)
#define SYSCTL_OUT(r, p, l) (r->oldfunc)(r, p, l)

typedef int(*sysctl_handler_t) SYSCTL_HANDLER_ARGS;

__BEGIN_DECLS
int sysctl_handle_int SYSCTL_HANDLER_ARGS;
int sysctl_handle_long SYSCTL_HANDLER_ARGS;
int sysctl_handle_quad SYSCTL_HANDLER_ARGS;
int sysctl_handle_int2quad SYSCTL_HANDLER_ARGS;
int sysctl_handle_string SYSCTL_HANDLER_ARGS;
int sysctl_handle_opaque SYSCTL_HANDLER_ARGS;
int sysctl_io_number(struct sysctl_req *req, long long bigValue, size_t valueSize, void *pValue, int *changed);
int sysctl_io_string(struct sysctl_req *req, char *pValue, size_t valueSize, int trunc, int *changed);
int sysctl_io_opaque(struct sysctl_req *req, void *pValue, size_t valueSize, int *changed);
void sysctl_register_oid(struct sysctl_oid *oidp);
void sysctl_unregister_oid(struct sysctl_oid *oidp);
__END_DECLS

#define SYSCTL_DECL(name) extern struct sysctl_oid_list sysctl_##name##_children

/* The OID the macros below define: struct sysctl_oid sysctl_<parent>_<name>. */
#define SYSCTL_OID(parent, nbr, name, kind, a1, a2, handler, fmt, descr)                                               \
    struct sysctl_oid sysctl_##parent##_##name = {                                                                     \
        &sysctl_##parent##_children, {0}, nbr, (int)(kind | CTLFLAG_OID2), a1, (int)(a2), #name, handler, fmt, descr,  \
        SYSCTL_OID_VERSION,          0}

#ifdef __cplusplus
#define __KEXTSIM_SYSCTL_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define __KEXTSIM_SYSCTL_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* A node other OIDs hang from; it defines sysctl_<parent>_<name>_children. */
#define SYSCTL_NODE(parent, nbr, name, access, handler, descr)                                                         \
    struct sysctl_oid_list sysctl_##parent##_##name##_children;                                                        \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_NODE | access, &sysctl_##parent##_##name##_children, 0, handler, "N", descr)

/* A string; len 0 means read-only and NUL-terminated, else the buffer size. */
#define SYSCTL_STRING(parent, nbr, name, access, arg, len, descr)                                                      \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_STRING | access, arg, len, sysctl_handle_string, "A", descr)

/* An int at ptr, or the constant val when ptr is NULL. */
#define SYSCTL_INT(parent, nbr, name, access, ptr, val, descr)                                                         \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_INT | access, ptr, val, sysctl_handle_int, "I", descr);                      \
    __KEXTSIM_SYSCTL_ASSERT(__builtin_constant_p(ptr) || sizeof(*(ptr)) == sizeof(int), "must be integer sized")

#define SYSCTL_UINT(parent, nbr, name, access, ptr, val, descr)                                                        \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_INT | access, ptr, val, sysctl_handle_int, "IU", descr);                     \
    __KEXTSIM_SYSCTL_ASSERT(__builtin_constant_p(ptr) || sizeof(*(ptr)) == sizeof(unsigned int),                       \
                            "must be integer sized")

#define SYSCTL_LONG(parent, nbr, name, access, ptr, descr)                                                             \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_INT | access, ptr, 0, sysctl_handle_long, "L", descr);                       \
    __KEXTSIM_SYSCTL_ASSERT(__builtin_constant_p(ptr) || sizeof(*(ptr)) == sizeof(long), "must be long sized")

#define SYSCTL_ULONG(parent, nbr, name, access, ptr, descr)                                                            \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_INT | access, ptr, 0, sysctl_handle_long, "LU", descr);                      \
    __KEXTSIM_SYSCTL_ASSERT(__builtin_constant_p(ptr) || sizeof(*(ptr)) == sizeof(unsigned long), "must be long "      \
                                                                                                  "sized")

#define SYSCTL_QUAD(parent, nbr, name, access, ptr, descr)                                                             \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_QUAD | access, ptr, 0, sysctl_handle_quad, "Q", descr);                      \
    __KEXTSIM_SYSCTL_ASSERT(__builtin_constant_p(ptr) || sizeof(*(ptr)) == sizeof(long long), "must be long long "     \
                                                                                              "sized")

#define SYSCTL_OPAQUE(parent, nbr, name, access, ptr, len, fmt, descr)                                                 \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_OPAQUE | access, ptr, len, sysctl_handle_opaque, fmt, descr)

#define SYSCTL_STRUCT(parent, nbr, name, access, ptr, type, descr)                                                     \
    SYSCTL_OID(parent, nbr, name, CTLTYPE_OPAQUE | access, ptr, sizeof(struct type), sysctl_handle_opaque, "S," #type, \
               descr)

/* A handler of the kext's own; `access` becomes oid_kind as given, so OR in
 * the CTLTYPE_* sysctl(8) should format the value as. */
#define SYSCTL_PROC(parent, nbr, name, access, ptr, arg, handler, fmt, descr)                                          \
    SYSCTL_OID(parent, nbr, name, access, ptr, arg, handler, fmt, descr)

/* The parent lists a third-party kext can link against (BSDKernel exports).
 * _hw and _user exist in the kernel but are not exported to kexts. */
extern struct sysctl_oid_list sysctl__children;
SYSCTL_DECL(_kern);
SYSCTL_DECL(_sysctl);
SYSCTL_DECL(_vm);
SYSCTL_DECL(_vfs);
SYSCTL_DECL(_net);
SYSCTL_DECL(_debug);
SYSCTL_DECL(_machdep);

#endif /* _SYS_SYSCTL_H_ */
