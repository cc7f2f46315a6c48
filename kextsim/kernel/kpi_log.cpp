// Kernel-domain logging KPIs: os_log*, printf/vprintf (reached through the
// kextsim_printf label in <libkern/libkern.h>) and IOLog/IOLogv. Each call is
// one line of the kernel log; the host attributes it to the calling kext.
#include <IOKit/IOLib.h>
#include <libkern/libkern.h>
#include <os/log.h>

#include "../abi/kxs_abi.h"

namespace {
// Longest line kept; longer ones are cut. The unified log keeps about 256
// bytes of a message's dynamic content, so this loses nothing XNU keeps.
constexpr size_t kMaxLine = 1024;

void log_v(os_log_type_t type, const char *format, va_list ap)
{
    char line[kMaxLine];
    vsnprintf(line, sizeof line, format, ap);
    kxs_host_log(type, line);
}
} // namespace

extern "C" {

os_log_t os_log_create(const char *, const char *)
{
    return OS_LOG_DEFAULT;
}

void kextsim_os_log(os_log_t, os_log_type_t type, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    log_v(type, format, ap);
    va_end(ap);
}

// XNU's printf logs with type default and returns 0.
int kextsim_vprintf(const char *format, va_list ap)
{
    log_v(OS_LOG_TYPE_DEFAULT, format, ap);
    return 0;
}

int kextsim_printf(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    log_v(OS_LOG_TYPE_DEFAULT, format, ap);
    va_end(ap);
    return 0;
}

void IOLogv(const char *format, va_list ap)
{
    log_v(OS_LOG_TYPE_DEFAULT, format, ap);
}

void IOLog(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    log_v(OS_LOG_TYPE_DEFAULT, format, ap);
    va_end(ap);
}

} // extern "C"
