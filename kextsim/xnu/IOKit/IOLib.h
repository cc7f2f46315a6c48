/*
 * kextsim: XNU-shaped <IOKit/IOLib.h>, the logging part (com.apple.kpi.iokit;
 * shared/reference/xnu-kpi.md section 9). IOLog and IOLogv write one line to
 * the kernel log, attributed to the calling kext. Implemented by
 * kextsim/kernel/kpi_log.cpp.
 */
#ifndef __IOKIT_IOLIB_H
#define __IOKIT_IOLIB_H
#include <stdarg.h>
#include <sys/cdefs.h>

__BEGIN_DECLS
void IOLog(const char *format, ...) __attribute__((format(printf, 1, 2)));
void IOLogv(const char *format, va_list ap) __attribute__((format(printf, 1, 0)));
__END_DECLS

#endif /* __IOKIT_IOLIB_H */
