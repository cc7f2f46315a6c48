/* kextsim: XNU-shaped <libkern/libkern.h>, the libc-like subset of
 * com.apple.kpi.libkern. snprintf/vsnprintf/mem* resolve to the host's libc
 * (same contract for the formats kexts use); strlcpy comes from kextsim.
 *
 * printf and vprintf write to the kernel log, as XNU's do (one os_log entry
 * of type default per call). A kext's call must not reach the host's stdio
 * printf, and kextsim cannot define a global `printf` (it would take over
 * the host's own), so the declarations carry an assembler label: the kext
 * source still says printf, its object file references kextsim_printf
 * (kextsim/kernel/kpi_log.cpp). Kernel-domain code is built with
 * -ffreestanding, so the compiler never rewrites printf into puts. */
#ifndef _LIBKERN_LIBKERN_H_
#define _LIBKERN_LIBKERN_H_
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>

/* The assembler name of C symbol `name` (Mach-O prefixes an underscore). */
#define __KEXTSIM_STR2(x) #x
#define __KEXTSIM_STR(x) __KEXTSIM_STR2(x)
#define __KEXTSIM_ASM_NAME(name) __asm__(__KEXTSIM_STR(__USER_LABEL_PREFIX__) #name)

__BEGIN_DECLS
int printf(const char *format, ...) __KEXTSIM_ASM_NAME(kextsim_printf) __printflike(1, 2);
int vprintf(const char *format, va_list ap) __KEXTSIM_ASM_NAME(kextsim_vprintf) __printflike(1, 0);
int snprintf(char *str, size_t size, const char *format, ...) __printflike(3, 4);
int vsnprintf(char *str, size_t size, const char *format, va_list ap) __printflike(3, 0);
void bzero(void *s, size_t n);
void *memchr(const void *s, int c, size_t n);
__END_DECLS
#endif
