// kextsim's user-space client library: the PF_SYSTEM socket calls a macOS
// process makes (socket, ioctl CTLIOCGINFO / SIOCSKEVFILT / SIOCGKEVVENDOR,
// connect, setsockopt, getsockopt, recv), served by `kextsim boot`.
//
// Calls behave like the syscalls: they return -1 and set errno (host values)
// on failure. The structs and constants they take have the macOS user-space
// layouts and values (kextsim/darwin.hpp).
//
// Threading: one SystemSocket may be used from one thread at a time.
#pragma once

#include <kextsim/darwin.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace kextsim {

// Bytes of the header in front of every request and reply on the socket to
// `kextsim boot` (for a baseline that carries the same bytes).
inline constexpr std::size_t kMessageHeaderBytes = 24;

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
    // Event sockets: every record waiting now (at most `max`), appended to
    // `records` in order and taken from the receive buffer together, as that
    // many non-blocking recv calls would (XNU frees each record's space as
    // it is read). One exchange with the host for all of them, where recv
    // makes one per record: a listener draining a burst of events (a commit
    // of 256 tunables posts 257) pays for the burst once. Returns how many
    // were taken; -1 with errno EAGAIN when none is waiting, or on failure.
    ssize_t recv_waiting(std::vector<std::vector<std::uint8_t>>& records, std::size_t max);
    // Readable when a record is waiting (after connect, or for event sockets
    // right away); -1 before.
    int readable_fd() const { return data_fd_; }

private:
    SystemSocket(int req_fd, int protocol);
    int call(std::uint32_t op, std::uint32_t a, std::uint32_t b, std::uint32_t c, const void* payload, std::size_t len,
             void* out, std::size_t* out_len, std::uint32_t* out_a, std::uint32_t* out_c);

    int req_fd_;
    int data_fd_ = -1;
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
