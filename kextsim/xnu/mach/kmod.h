/*
 * kextsim: XNU-shaped <mach/kmod.h> (shared/reference/xnu-kpi.md section 6).
 * kmod_info is given default visibility so kextsim's loader can dlsym it from
 * a kext built with -fvisibility=hidden; on macOS the linker finds it anyway.
 */
#ifndef _MACH_KMOD_H_
#define _MACH_KMOD_H_
#include <mach/kern_return.h>
#include <sys/types.h>

#define KMOD_INFO_NAME kmod_info
#define KMOD_INFO_VERSION 1
#define KMOD_MAX_NAME 64
#define KMOD_RETURN_SUCCESS KERN_SUCCESS
#define KMOD_RETURN_FAILURE KERN_FAILURE

__BEGIN_DECLS

struct kmod_info;
typedef kern_return_t kmod_start_func_t(struct kmod_info *ki, void *data);
typedef kern_return_t kmod_stop_func_t(struct kmod_info *ki, void *data);

#pragma pack(push, 4)
typedef struct kmod_reference {
    struct kmod_reference *next;
    struct kmod_info *info;
} kmod_reference_t;

typedef struct kmod_info {
    struct kmod_info *next;
    int32_t info_version;
    uint32_t id;
    char name[KMOD_MAX_NAME];
    char version[KMOD_MAX_NAME];
    int32_t reference_count;
    kmod_reference_t *reference_list;
    vm_address_t address;
    vm_size_t size;
    vm_size_t hdr_size;
    kmod_start_func_t *start;
    kmod_stop_func_t *stop;
} kmod_info_t;
#pragma pack(pop)

__END_DECLS

#define KMOD_DECL(name, version)                                                                                       \
    static kmod_start_func_t name##_module_start;                                                                      \
    static kmod_stop_func_t name##_module_stop;                                                                        \
    __attribute__((visibility("default"))) kmod_info_t KMOD_INFO_NAME = {                                              \
        0, KMOD_INFO_VERSION, -1U, {#name}, {version}, -1, 0, 0, 0, 0, name##_module_start, name##_module_stop};

#define KMOD_EXPLICIT_DECL(name, version, start, stop)                                                                 \
    __attribute__((visibility("default")))                                                                             \
    kmod_info_t KMOD_INFO_NAME = {0, KMOD_INFO_VERSION, -1U, {#name}, {version}, -1, 0, 0, 0, 0, start, stop};

#endif /* _MACH_KMOD_H_ */
