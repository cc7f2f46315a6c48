/*
 * kextsim: XNU-shaped <sys/kern_control.h>, kernel part. Names, signatures,
 * constants and the public 160-byte struct kern_ctl_reg as in Kernel.framework
 * (see shared/reference/xnu-kpi.md section 1). Implemented by
 * kextsim/kernel/kpi_kern_control.cpp.
 */
#ifndef KPI_KERN_CONTROL_H
#define KPI_KERN_CONTROL_H
#include <sys/kernel_types.h>
#include <sys/types.h>

#define KEV_CTL_SUBCLASS 2
#define KEV_CTL_REGISTERED 1
#define KEV_CTL_DEREGISTERED 2
struct ctl_event_data {
    u_int32_t ctl_id;
    u_int32_t ctl_unit;
};

#define CTLIOCGCOUNT 0x40044E02UL /* _IOR('N', 2, int) */
#define CTLIOCGINFO 0xC0644E03UL  /* _IOWR('N', 3, struct ctl_info) */
#define MAX_KCTL_NAME 96

struct ctl_info {
    u_int32_t ctl_id;
    char ctl_name[MAX_KCTL_NAME];
};

struct sockaddr_ctl {
    u_char sc_len;
    u_char sc_family;
    u_int16_t ss_sysaddr;
    u_int32_t sc_id;
    u_int32_t sc_unit;
    u_int32_t sc_reserved[5];
};

typedef void *kern_ctl_ref;

#define CTL_FLAG_PRIVILEGED 0x1
#define CTL_FLAG_REG_ID_UNIT 0x2
#define CTL_FLAG_REG_SOCK_STREAM 0x4

#define CTL_DATA_NOWAKEUP 0x1
#define CTL_DATA_EOR 0x2

__BEGIN_DECLS

typedef errno_t (*ctl_connect_func)(kern_ctl_ref kctlref, struct sockaddr_ctl *sac, void **unitinfo);
typedef errno_t (*ctl_disconnect_func)(kern_ctl_ref kctlref, u_int32_t unit, void *unitinfo);
typedef errno_t (*ctl_send_func)(kern_ctl_ref kctlref, u_int32_t unit, void *unitinfo, mbuf_t m, int flags);
typedef errno_t (*ctl_setopt_func)(kern_ctl_ref kctlref, u_int32_t unit, void *unitinfo, int opt, void *data,
                                   size_t len);
typedef errno_t (*ctl_getopt_func)(kern_ctl_ref kctlref, u_int32_t unit, void *unitinfo, int opt, void *data,
                                   size_t *len);

struct kern_ctl_reg {
    char ctl_name[MAX_KCTL_NAME];
    u_int32_t ctl_id;
    u_int32_t ctl_unit;
    u_int32_t ctl_flags;
    u_int32_t ctl_sendsize;
    u_int32_t ctl_recvsize;
    ctl_connect_func ctl_connect;
    ctl_disconnect_func ctl_disconnect;
    ctl_send_func ctl_send;
    ctl_setopt_func ctl_setopt;
    ctl_getopt_func ctl_getopt;
};

errno_t ctl_register(struct kern_ctl_reg *userkctl, kern_ctl_ref *kctlref);
errno_t ctl_deregister(kern_ctl_ref kctlref);
errno_t ctl_enqueuedata(kern_ctl_ref kctlref, u_int32_t unit, void *data, size_t len, u_int32_t flags);
errno_t ctl_enqueuembuf(kern_ctl_ref kctlref, u_int32_t unit, mbuf_t m, u_int32_t flags);
errno_t ctl_getenqueuespace(kern_ctl_ref kctlref, u_int32_t unit, size_t *space);

__END_DECLS

#endif /* KPI_KERN_CONTROL_H */
