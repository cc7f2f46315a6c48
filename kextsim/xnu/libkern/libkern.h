/* kextsim: XNU-shaped <libkern/libkern.h>, the libc-like subset of
 * com.apple.kpi.libkern. printf/snprintf/mem* resolve to the host's libc
 * (same contract for the formats kexts use); strlcpy comes from kextsim. */
#ifndef _LIBKERN_LIBKERN_H_
#define _LIBKERN_LIBKERN_H_
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>

__BEGIN_DECLS
int printf(const char *format, ...) __printflike(1, 2);
int snprintf(char *str, size_t size, const char *format, ...) __printflike(3, 4);
int vsnprintf(char *str, size_t size, const char *format, va_list ap) __printflike(3, 0);
void bzero(void *s, size_t n);
void *memchr(const void *s, int c, size_t n);
__END_DECLS
#endif
