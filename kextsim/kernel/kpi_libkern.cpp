// Kernel-domain libkern pieces that the host's libc does not provide with
// kernel semantics: strlcpy/strlcat, OSAtomic, kmod entry upcalls; kernel-domain init.
#include <libkern/OSAtomic.h>
#include <libkern/libkern.h>
#include <mach/kmod.h>
#include <string.h>

#include "../abi/kxs_abi.h"
#include "kernel_alloc.h"
#include "kernel_init.h"

namespace {
void *kextsim_tag()
{
    static void *tag = kxs_host_tag_new("kextsim", 0);
    return tag;
}
} // namespace

void *kextsim_kernel_alloc(size_t size)
{
    void *p = kxs_host_alloc(kextsim_tag(), size, 1);
    if (p != nullptr)
        memset(p, 0, size);
    return p;
}

void kextsim_kernel_free(void *p, size_t size)
{
    if (p != nullptr)
        kxs_host_free(kextsim_tag(), p, size);
}

extern "C" {

size_t strlcpy(char *dst, const char *src, size_t size)
{
    const size_t len = strlen(src);
    if (size != 0) {
        const size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

size_t strlcat(char *dst, const char *src, size_t size)
{
    const size_t dlen = strnlen(dst, size);
    if (dlen == size)
        return size + strlen(src);
    return dlen + strlcpy(dst + dlen, src, size - dlen);
}

SInt32 OSAddAtomic(SInt32 amount, volatile SInt32 *address)
{
    return __atomic_fetch_add(address, amount, __ATOMIC_SEQ_CST);
}
SInt64 OSAddAtomic64(SInt64 amount, volatile SInt64 *address)
{
    return __atomic_fetch_add(address, amount, __ATOMIC_SEQ_CST);
}
SInt32 OSIncrementAtomic(volatile SInt32 *address)
{
    return OSAddAtomic(1, address);
}
SInt32 OSDecrementAtomic(volatile SInt32 *address)
{
    return OSAddAtomic(-1, address);
}
Boolean OSCompareAndSwap(UInt32 oldValue, UInt32 newValue, volatile UInt32 *address)
{
    return __atomic_compare_exchange_n(address, &oldValue, newValue, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
Boolean OSCompareAndSwap64(UInt64 oldValue, UInt64 newValue, volatile UInt64 *address)
{
    return __atomic_compare_exchange_n(address, &oldValue, newValue, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void kxs_kern_init(void)
{
    (void)kextsim_tag(); // created outside any kext, so it is never counted against one
    kextsim_sysctl_init();
}

int32_t kxs_kern_kmod_start(void *kmod_info)
{
    auto *ki = static_cast<kmod_info_t *>(kmod_info);
    if (ki->info_version != KMOD_INFO_VERSION || ki->start == nullptr)
        return KERN_FAILURE;
    return ki->start(ki, nullptr);
}

int32_t kxs_kern_kmod_stop(void *kmod_info)
{
    auto *ki = static_cast<kmod_info_t *>(kmod_info);
    if (ki->stop == nullptr)
        return KERN_SUCCESS;
    return ki->stop(ki, nullptr);
}

void kxs_kern_kmod_names(void *kmod_info, char *name, size_t name_len, char *version, size_t version_len)
{
    auto *ki = static_cast<kmod_info_t *>(kmod_info);
    char tmp[KMOD_MAX_NAME + 1];
    memcpy(tmp, ki->name, KMOD_MAX_NAME);
    tmp[KMOD_MAX_NAME] = '\0';
    strlcpy(name, tmp, name_len);
    memcpy(tmp, ki->version, KMOD_MAX_NAME);
    tmp[KMOD_MAX_NAME] = '\0';
    strlcpy(version, tmp, version_len);
}

} // extern "C"
