// The wire between kextsim's host (`kextsim boot`) and its clients (the client
// library inside kextconfd, kextconfctl, the `kextsim` CLI). It stands in for
// the syscalls a macOS process makes on a PF_SYSTEM socket.
//
// Every client holds a request channel: an AF_UNIX SOCK_SEQPACKET connection to
// <root>/kernel.sock carrying one request and one reply per call. Data the kext
// enqueues (and kern_events) arrive on a second SEQPACKET socket, the data
// channel, handed over with SCM_RIGHTS; one message there is one record, so a
// short read truncates and drops the rest of it, as on a PF_SYSTEM socket. The
// client acknowledges each record it reads (and waits for the reply) so the host can account the
// receive buffer (ENOBUFS) exactly as XNU does. On control sockets each
// enqueue is its own message (see kFragmentEor); the client merges them.
//
// Status fields carry Darwin errno values; the client library translates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kextsim::wire {

inline constexpr std::uint32_t kVersion = 1;

enum class Op : std::uint32_t {
    // PF_SYSTEM socket calls
    Socket = 1,     // a=protocol (SYSPROTO_*), b=type (SOCK_*). Event sockets get their data fd back.
    CtlInfo = 2,    // payload=name. reply a=id
    CtlCount = 3,   // reply a=count
    Connect = 4,    // a=id, b=unit. reply a=unit, data fd
    SetOpt = 5,     // a=level, b=opt, payload=value
    GetOpt = 6,     // a=level, b=opt, c=buffer size, payload=the input buffer without its trailing zero
                    // bytes (the host zero-fills up to c). reply payload=output, c=length
    Ack = 7,        // a=bytes the client consumed from its data channel (before recv returns)
    KevSetFilt = 8, // payload=kev_request
    KevGetFilt = 9, // reply payload=kev_request
    KevVendor = 10, // payload=vendor string. reply a=code
    KevGetId = 11,  // reply a=last event id
    // kmutil-like management (root or the host's own user)
    Load = 100,       // payload=bundle path. reply payload=message
    Unload = 101,     // payload=bundle id. reply payload=message
    ShowLoaded = 102, // reply payload=table
    Stats = 103,      // reply payload=counters, one "name value" per line
    // The kernel's user-facing services (wire_sysctl.hpp has the encodings)
    Sysctl = 104, // a=SysctlAction; reads are open to all, writes follow the OID's rules
    Log = 105,    // a=kLogFollow or 0 (root or the host's user). reply payload=the kernel log
                  // ring, one line per '\n'; with kLogFollow also a data fd carrying each new
                  // line as one message
};

enum class SysctlAction : std::uint32_t {
    Read = 0,  // payload=dotted name. reply a=kind, c=path length, payload=SysctlRecord
    Write = 1, // payload=dotted name, NUL, new value. reply status only
    Next = 2,  // payload=int32 path (empty: from the start). reply as Read, without the value
};
inline constexpr std::uint32_t kLogFollow = 0x1;

struct Header {
    std::uint32_t op;
    std::int32_t status; // Darwin errno in replies, 0 on success
    std::uint32_t a;
    std::uint32_t b;
    std::uint32_t c;
    std::uint32_t len; // payload bytes following the header
};
static_assert(sizeof(Header) == 24);

// Control data channels carry one message per ctl_enqueuedata: a flags byte,
// then the data. kFragmentEor marks the end of a record (CTL_DATA_EOR).
inline constexpr std::uint8_t kFragmentEor = 0x1;

// Largest payload on the request channel: an option buffer, a path or a table.
inline constexpr std::size_t kMaxPayload = 64 * 1024;

struct Message {
    Header hdr{};
    std::vector<std::uint8_t> payload;
    int fd = -1; // a descriptor passed with SCM_RIGHTS, or -1

    std::string text() const { return std::string(payload.begin(), payload.end()); }
};

// Sends one message (and fd_to_pass if >= 0). Returns 0 or a host errno.
int send_message(int sock, const Header& hdr, const void* payload, std::size_t len, int fd_to_pass = -1);

// Receives one message. Returns 0, a host errno, or ECONNRESET on orderly EOF.
// A received descriptor is stored in out.fd with FD_CLOEXEC set.
int recv_message(int sock, Message& out);

// Darwin <-> host errno translation (they differ for most network errnos).
int to_darwin_errno(int host_errno);
int from_darwin_errno(int darwin_errno);

// The runtime directory: $KEXTSIM_ROOT, else /run/kextsim for root, else
// /tmp/kextsim-<uid>.
std::string runtime_root();
std::string kernel_socket_path(const std::string& root);

} // namespace kextsim::wire
