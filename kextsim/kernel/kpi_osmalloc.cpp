// Kernel-domain OSMalloc KPI: tags and blocks are tracked by the host, which
// checks sizes on free and reports what a kext leaves behind.
#include <libkern/OSMalloc.h>

#include "../abi/kxs_abi.h"

extern "C" {

OSMallocTag OSMalloc_Tagalloc(const char *str, uint32_t flags)
{
    return static_cast<OSMallocTag>(kxs_host_tag_new(str, flags));
}
void OSMalloc_Tagfree(OSMallocTag tag)
{
    kxs_host_tag_free(tag);
}
void *OSMalloc(uint32_t size, OSMallocTag tag)
{
    return kxs_host_alloc(tag, size, 1);
}
void *OSMalloc_nowait(uint32_t size, OSMallocTag tag)
{
    return kxs_host_alloc(tag, size, 0);
}
void *OSMalloc_noblock(uint32_t size, OSMallocTag tag)
{
    return kxs_host_alloc(tag, size, 0);
}
void OSFree(void *addr, uint32_t size, OSMallocTag tag)
{
    kxs_host_free(tag, addr, size);
}

} // extern "C"
