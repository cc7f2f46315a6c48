/*
 * kextsim: XNU-shaped <sys/kern_event.h>, kernel part (shared/reference/xnu-kpi.md
 * section 3). Implemented by kextsim/kernel/kpi_kern_event.cpp.
 */
#ifndef SYS_KERN_EVENT_H
#define SYS_KERN_EVENT_H
#include <sys/types.h>

#define KEV_SNDSPACE (4 * 1024)
#define KEV_RECVSPACE (32 * 1024)
#define KEV_ANY_VENDOR 0
#define KEV_ANY_CLASS 0
#define KEV_ANY_SUBCLASS 0
#define KEV_VENDOR_APPLE 1
#define KEV_NETWORK_CLASS 1
#define KEV_IOKIT_CLASS 2
#define KEV_SYSTEM_CLASS 3
#define KEV_APPLESHARE_CLASS 4
#define KEV_FIREWALL_CLASS 5
#define KEV_IEEE80211_CLASS 6
#define KEV_NKE_CLASS 7
#define KEV_VENDOR_CODE_MAX_STR_LEN 200

struct kern_event_msg {
    u_int32_t total_size;
    u_int32_t vendor_code;
    u_int32_t kev_class;
    u_int32_t kev_subclass;
    u_int32_t id;
    u_int32_t event_code;
    u_int32_t event_data[1];
};
#define KEV_MSG_HEADER_SIZE (offsetof(struct kern_event_msg, event_data[0]))

struct kev_request {
    u_int32_t vendor_code;
    u_int32_t kev_class;
    u_int32_t kev_subclass;
};

#pragma pack(4)
struct kev_vendor_code {
    u_int32_t vendor_code;
    char vendor_string[KEV_VENDOR_CODE_MAX_STR_LEN];
};
#pragma pack()

#define SIOCGKEVID 0x40046501UL
#define SIOCSKEVFILT 0x800C6502UL
#define SIOCGKEVFILT 0x400C6503UL
#define SIOCGKEVVENDOR 0xC0CC6504UL

#define N_KEV_VECTORS 5
struct kev_d_vectors {
    u_int32_t data_length;
    void *data_ptr;
};
struct kev_msg {
    u_int32_t vendor_code;
    u_int32_t kev_class;
    u_int32_t kev_subclass;
    u_int32_t event_code;
    struct kev_d_vectors dv[N_KEV_VECTORS];
};

__BEGIN_DECLS
errno_t kev_vendor_code_find(const char *vendor_string, u_int32_t *vendor_code);
errno_t kev_msg_post(struct kev_msg *event_msg);
__END_DECLS

#endif /* SYS_KERN_EVENT_H */
