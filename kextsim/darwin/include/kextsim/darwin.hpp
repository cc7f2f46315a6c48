// The macOS user-space ABI that kextsim serves, defined once: the values
// and layouts of sys/kern_control.h, sys/kern_event.h, sys/sys_domain.h and
// sys/sysctl.h that a process on macOS passes to the PF_SYSTEM socket calls
// and sysctl(3). Shared by the client library (what a process sends) and the
// host (what `kextsim boot` expects); the kernel domain has its own
// XNU-shaped headers (kextsim/xnu), as a kext on macOS does.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kextsim {

inline constexpr int kPfSystem = 32;
inline constexpr int kSockStream = 1; // same values on Linux, named here for both sides
inline constexpr int kSockDgram = 2;
inline constexpr int kSockRaw = 3;
inline constexpr std::uint32_t kCtlFlagPrivileged = 0x1;
inline constexpr std::uint32_t kCtlFlagRegIdUnit = 0x2;
inline constexpr std::uint32_t kCtlFlagRegSockStream = 0x4;
inline constexpr std::uint32_t kCtlDataEor = 0x2;
inline constexpr int kSolSocket = 0xffff; // Darwin's SOL_SOCKET (Linux: 1)
inline constexpr int kSoSndbuf = 0x1001;  // Darwin's SO_SNDBUF
inline constexpr int kSoRcvbuf = 0x1002;  // Darwin's SO_RCVBUF
inline constexpr int kSysprotoEvent = 1;
inline constexpr int kSysprotoControl = 2;
inline constexpr int kAfSysControl = 2;
inline constexpr unsigned long kCtlIocGCount = 0x40044E02UL;
inline constexpr unsigned long kCtlIocGInfo = 0xC0644E03UL;
inline constexpr unsigned long kSiocGKevId = 0x40046501UL;
inline constexpr unsigned long kSiocSKevFilt = 0x800C6502UL;
inline constexpr unsigned long kSiocGKevFilt = 0x400C6503UL;
inline constexpr unsigned long kSiocGKevVendor = 0xC0CC6504UL;
inline constexpr std::size_t kMaxKctlName = 96;
inline constexpr std::size_t kKevVendorCodeMaxStrLen = 200;
inline constexpr std::uint32_t kKevVendorApple = 1;
inline constexpr std::uint32_t kKevSystemClass = 3;
inline constexpr std::uint32_t kKevCtlSubclass = 2;
inline constexpr std::uint32_t kKevCtlRegistered = 1;
inline constexpr std::uint32_t kKevCtlDeregistered = 2;

struct ctl_info {
    std::uint32_t ctl_id;
    char ctl_name[kMaxKctlName];
};
static_assert(sizeof(ctl_info) == 100);

struct sockaddr_ctl {
    std::uint8_t sc_len;
    std::uint8_t sc_family;
    std::uint16_t ss_sysaddr;
    std::uint32_t sc_id;
    std::uint32_t sc_unit;
    std::uint32_t sc_reserved[5];
};
static_assert(sizeof(sockaddr_ctl) == 32);

struct kev_request {
    std::uint32_t vendor_code;
    std::uint32_t kev_class;
    std::uint32_t kev_subclass;
};
static_assert(sizeof(kev_request) == 12);

#pragma pack(push, 4)
struct kev_vendor_code {
    std::uint32_t vendor_code;
    char vendor_string[kKevVendorCodeMaxStrLen];
};
#pragma pack(pop)
static_assert(sizeof(kev_vendor_code) == 204);

struct kern_event_msg_header {
    std::uint32_t total_size;
    std::uint32_t vendor_code;
    std::uint32_t kev_class;
    std::uint32_t kev_subclass;
    std::uint32_t id;
    std::uint32_t event_code;
};
static_assert(sizeof(kern_event_msg_header) == 24); // KEV_MSG_HEADER_SIZE

// sysctl(3) OID kinds and flags (oid_kind).
inline constexpr std::uint32_t kCtlTypeMask = 0xf;
inline constexpr std::uint32_t kCtlTypeNode = 1;
inline constexpr std::uint32_t kCtlTypeInt = 2;
inline constexpr std::uint32_t kCtlTypeString = 3;
inline constexpr std::uint32_t kCtlTypeQuad = 4;
inline constexpr std::uint32_t kCtlTypeOpaque = 5;
inline constexpr std::uint32_t kCtlFlagWr = 0x40000000;
inline constexpr std::uint32_t kCtlFlagAnybody = 0x10000000;
inline constexpr std::uint32_t kCtlFlagMasked = 0x04000000;

} // namespace kextsim
