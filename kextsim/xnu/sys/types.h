/* kextsim: XNU-shaped <sys/types.h> for kexts (kernel build, LP64). */
#ifndef _KEXTSIM_SYS_TYPES_H_
#define _KEXTSIM_SYS_TYPES_H_
#include <stddef.h>
#include <stdint.h>
#include <sys/cdefs.h>
typedef uint8_t u_int8_t;
typedef uint16_t u_int16_t;
typedef uint32_t u_int32_t;
typedef uint64_t u_int64_t;
typedef unsigned char u_char;
typedef unsigned short u_short;
typedef unsigned int u_int;
typedef unsigned long u_long;
typedef long ssize_t;
typedef int errno_t;
typedef int32_t pid_t;
typedef uint32_t uid_t;
typedef uint32_t gid_t;
typedef int64_t off_t;
typedef uintptr_t vm_offset_t;
typedef uintptr_t vm_address_t;
typedef uintptr_t vm_size_t;
typedef u_int64_t user_addr_t; /* a user-space address, 64-bit for every process */
typedef unsigned int boolean_t;
#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif
#endif
