/*
 * kextsim: XNU-shaped <os/log.h>. The real header formats through
 * __builtin_os_log_format (clang only); here the same macros format with
 * vsnprintf and hand the line to kextsim's log. Kexts use only the macros.
 */
#ifndef __os_log_h
#define __os_log_h
#include <sys/types.h>

typedef struct os_log_s *os_log_t;
typedef uint8_t os_log_type_t;
#define OS_LOG_TYPE_DEFAULT 0x00
#define OS_LOG_TYPE_INFO 0x01
#define OS_LOG_TYPE_DEBUG 0x02
#define OS_LOG_TYPE_ERROR 0x10
#define OS_LOG_TYPE_FAULT 0x11
#define OS_LOG_DEFAULT ((os_log_t)0)

__BEGIN_DECLS
os_log_t os_log_create(const char *subsystem, const char *category);
void kextsim_os_log(os_log_t log, os_log_type_t type, const char *format, ...) __printflike(3, 4);
__END_DECLS

#define os_log_with_type(log, type, format, ...) kextsim_os_log(log, type, format, ##__VA_ARGS__)
#define os_log(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_DEFAULT, format, ##__VA_ARGS__)
#define os_log_info(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_INFO, format, ##__VA_ARGS__)
#define os_log_debug(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_DEBUG, format, ##__VA_ARGS__)
#define os_log_error(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_ERROR, format, ##__VA_ARGS__)
#define os_log_fault(log, format, ...) os_log_with_type(log, OS_LOG_TYPE_FAULT, format, ##__VA_ARGS__)
#endif
