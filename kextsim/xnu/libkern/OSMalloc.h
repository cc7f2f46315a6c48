/* kextsim: XNU-shaped <libkern/OSMalloc.h> (shared/reference/xnu-kpi.md section 5). */
#ifndef LIBKERN_OSMALLOC_h
#define LIBKERN_OSMALLOC_h
#include <sys/types.h>

typedef struct __OSMallocTag__ *OSMallocTag;
typedef struct __OSMallocTag__ *OSMallocTag_t;
#define OSMT_DEFAULT 0x00
#define OSMT_PAGEABLE 0x01

__BEGIN_DECLS
OSMallocTag OSMalloc_Tagalloc(const char *str, uint32_t flags);
void OSMalloc_Tagfree(OSMallocTag tag);
void *OSMalloc(uint32_t size, OSMallocTag tag);
void *OSMalloc_nowait(uint32_t size, OSMallocTag tag);
void *OSMalloc_noblock(uint32_t size, OSMallocTag tag);
void OSFree(void *addr, uint32_t size, OSMallocTag tag);
__END_DECLS
#endif
