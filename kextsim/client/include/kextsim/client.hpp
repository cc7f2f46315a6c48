// kextsim's user-space client library: the PF_SYSTEM socket calls a macOS
// process makes (socket, ioctl CTLIOCGINFO / SIOCSKEVFILT / SIOCGKEVVENDOR,
// connect, setsockopt, getsockopt, recv), served by `kextsim boot`.
//
// Calls behave like the syscalls: they return -1 and set errno (host values)
// on failure. The structs and constants below have the macOS user-space
// layouts and values (sys/kern_control.h, sys/kern_event.h, sys/sys_domain.h).
//
// Threading: one SystemSocket may be used from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

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

class SystemSocket {
public:
    // socket(PF_SYSTEM, type, protocol). nullptr and errno on failure
    // (ECONNREFUSED/ENOENT: kextsim is not running at the runtime root).
    static std::unique_ptr<SystemSocket> open(int type, int protocol, const std::string& root = {});
    ~SystemSocket();
    SystemSocket(const SystemSocket&) = delete;
    SystemSocket& operator=(const SystemSocket&) = delete;

    int ioctl(unsigned long request, void* arg);
    int connect(const sockaddr_ctl* addr, std::size_t len);
    int setsockopt(int level, int name, const void* value, std::size_t len);
    int getsockopt(int level, int name, void* value, std::size_t* len);
    // One record per call; a short buffer truncates it and drops the rest
    // (MSG_TRUNC semantics). flags: MSG_DONTWAIT.
    ssize_t recv(void* buf, std::size_t len, int flags);
    // Readable when a record is waiting (after connect, or for event sockets
    // right away); -1 before.
    int readable_fd() const { return data_fd_; }

private:
    SystemSocket(int req_fd, int type, int protocol);
    int call(std::uint32_t op, std::uint32_t a, std::uint32_t b, std::uint32_t c, const void* payload, std::size_t len,
             void* out, std::size_t* out_len, std::uint32_t* out_a, std::uint32_t* out_c);

    int req_fd_;
    int data_fd_ = -1;
    int type_;
    int protocol_;
};

// kmutil-like management of `kextsim boot` at the runtime root.
struct AdminResult {
    int error = 0;       // host errno, 0 on success
    std::string message; // what the host said
};
AdminResult load_kext(const std::string& bundle_path, const std::string& root = {});
AdminResult unload_kext(const std::string& bundle_id, const std::string& root = {});
AdminResult show_loaded(const std::string& root = {});
AdminResult host_stats(const std::string& root = {});

// sysctl(3) on `kextsim boot`'s MIB: the OIDs kexts registered. Names are
// dotted ("debug.kextsim.count"); kind and format are the OID's oid_kind and
// oid_fmt. Reads are open to everyone; writes need CTLFLAG_WR, and root
// unless the OID has CTLFLAG_ANYBODY (EPERM).
inline constexpr std::uint32_t kCtlTypeMask = 0xf;
inline constexpr std::uint32_t kCtlTypeNode = 1;
inline constexpr std::uint32_t kCtlTypeInt = 2;
inline constexpr std::uint32_t kCtlTypeString = 3;
inline constexpr std::uint32_t kCtlTypeQuad = 4;
inline constexpr std::uint32_t kCtlTypeOpaque = 5;
inline constexpr std::uint32_t kCtlFlagWr = 0x40000000;
inline constexpr std::uint32_t kCtlFlagAnybody = 0x10000000;
inline constexpr std::uint32_t kCtlFlagMasked = 0x04000000;

struct SysctlOid {
    int error = 0;                   // host errno; ENOENT: no such OID (or no more)
    std::vector<int> path;           // numeric name: debug.kextsim = 5.100
    std::string name;                // dotted name
    std::uint32_t kind = 0;          // CTLTYPE_* | CTLFLAG_*
    std::string fmt;                 // "I", "IU", "L", "Q", "A", "S,type", ...
    std::vector<std::uint8_t> value; // read(): what the handler returned; empty for a node
};

// Threading: one call at a time per object.
class SysctlClient {
public:
    // nullptr and errno (ECONNREFUSED: kextsim is not running at the root).
    static std::unique_ptr<SysctlClient> open(const std::string& root = {});
    ~SysctlClient();
    SysctlClient(const SysctlClient&) = delete;
    SysctlClient& operator=(const SysctlClient&) = delete;

    // Reads an OID. A node reads as itself with an empty value.
    SysctlOid read(const std::string& name);
    // The OID after `path` in the MIB's depth-first order (leaves only; an
    // empty path gives the first). ENOENT after the last. No value.
    SysctlOid next(const std::vector<int>& path);
    // Sets an OID; 0 or a host errno.
    int write(const std::string& name, const void* value, std::size_t len);

private:
    explicit SysctlClient(int fd) : fd_(fd) {}
    int fd_;
};

// The kernel log of `kextsim boot`: lines "kext[<bundle-id>] <level>: <text>"
// from os_log, printf and IOLog. Root or the host's own user only.
class LogStream {
public:
    // follow=false: the lines the host keeps (its last ~1000). follow=true:
    // those, then every new line as it is logged. nullptr and errno on
    // failure (EPERM: not allowed; ECONNREFUSED: no host).
    static std::unique_ptr<LogStream> open(bool follow, const std::string& root = {});
    ~LogStream();
    LogStream(const LogStream&) = delete;
    LogStream& operator=(const LogStream&) = delete;

    const std::vector<std::string>& backlog() const { return backlog_; }
    // Following only: waits for the next line. False once the host has gone
    // (or stopped following) and nothing more will come.
    bool next(std::string& line);
    // Readable when next() has a line (or the end) waiting; -1 unless following.
    int readable_fd() const { return data_fd_; }

private:
    LogStream(int req_fd, int data_fd) : req_fd_(req_fd), data_fd_(data_fd) {}
    int req_fd_;
    int data_fd_;
    std::vector<std::string> backlog_;
};

std::string runtime_root(); // $KEXTSIM_ROOT, or the default for this user

} // namespace kextsim
