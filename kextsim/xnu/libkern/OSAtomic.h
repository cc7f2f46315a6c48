/* kextsim: XNU-shaped <libkern/OSAtomic.h>, the non-deprecated subset. */
#ifndef _OS_OSATOMIC_H
#define _OS_OSATOMIC_H
#include <sys/types.h>
typedef int32_t SInt32;
typedef int64_t SInt64;
typedef uint32_t UInt32;
typedef uint64_t UInt64;
typedef unsigned char Boolean;
__BEGIN_DECLS
SInt32 OSAddAtomic(SInt32 amount, volatile SInt32 *address);
SInt64 OSAddAtomic64(SInt64 amount, volatile SInt64 *address);
SInt32 OSIncrementAtomic(volatile SInt32 *address);
SInt32 OSDecrementAtomic(volatile SInt32 *address);
Boolean OSCompareAndSwap(UInt32 oldValue, UInt32 newValue, volatile UInt32 *address);
Boolean OSCompareAndSwap64(UInt64 oldValue, UInt64 newValue, volatile UInt64 *address);
__END_DECLS
#endif
