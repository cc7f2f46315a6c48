// Kernel-domain half of the kern_event KPI: flattens a kev_msg's data vectors
// as XNU does (up to the first empty vector) and hands the bytes to the host.
#include <string.h>
#include <sys/errno.h>
#include <sys/kern_event.h>

#include "../abi/kxs_abi.h"

namespace {
// MLEN on the x86_64 and pre-macOS-14 arm64 configurations (256-byte mbufs):
// the header plus all data must fit in one mbuf.
constexpr size_t kMlen = 224;
} // namespace

extern "C" errno_t kev_vendor_code_find(const char *vendor_string, u_int32_t *vendor_code)
{
    if (vendor_string == nullptr || vendor_code == nullptr)
        return EINVAL;
    if (strnlen(vendor_string, KEV_VENDOR_CODE_MAX_STR_LEN) >= KEV_VENDOR_CODE_MAX_STR_LEN)
        return EINVAL;
    return kxs_host_kev_vendor_code(vendor_string, vendor_code);
}

extern "C" errno_t kev_msg_post(struct kev_msg *event_msg)
{
    if (event_msg == nullptr)
        return EINVAL;
    unsigned char buf[kMlen];
    size_t total = 0;
    for (int i = 0; i < N_KEV_VECTORS; ++i) {
        const kev_d_vectors &dv = event_msg->dv[i];
        if (dv.data_length == 0)
            break;
        if (KEV_MSG_HEADER_SIZE + total + dv.data_length > kMlen)
            return EMSGSIZE;
        memcpy(buf + total, dv.data_ptr, dv.data_length);
        total += dv.data_length;
    }
    return kxs_host_kev_post(event_msg->vendor_code, event_msg->kev_class, event_msg->kev_subclass,
                             event_msg->event_code, buf, total);
}
