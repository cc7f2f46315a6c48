// kextsim in-process: the simulated kernel inside the caller's process, for
// unit tests and fuzzers. A kext bundle is dlopened here, clients are plain
// objects, every call (and the kext callback it triggers) runs on the
// caller's thread, and enqueued data waits in memory: no sockets, no threads
// of kextsim's own. The rules are the same code kextsim boot runs
// (kextsim/host/endpoint.hpp).
//
// The executable must export its symbols (CMake ENABLE_EXPORTS / -rdynamic)
// so the kext can link against the KPIs, and link kextsim_inproc.
// Errors are host errno values, as from the syscalls on macOS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>

namespace kextsim {

class ControlEndpoint;
class EventEndpoint;
class QueueSink;
class FaultPlan;

class InProcessHost {
public:
    InProcessHost();  // one per process at a time: the simulated kernel is global
    ~InProcessHost(); // stops every kext still loaded; close clients first
    InProcessHost(const InProcessHost&) = delete;
    InProcessHost& operator=(const InProcessHost&) = delete;

    // "" or what failed (start routine, Info.plist, missing KPI symbol...).
    std::string load(const std::string& bundle_path);
    // 0, EBUSY (stop refused: still loaded) or ENOENT; `message` also lists
    // leaks found after stop.
    int unload(const std::string& bundle_id, std::string& message);
    // Fault injection: fail the nth call at `site` ("alloc", "enqueue",
    // "event", "enobufs", "rw_upgrade"); false for an unknown site and for
    // "stall", which needs a client that can go away (kextsim boot only).
    bool fail_nth(const std::string& site, std::uint64_t nth);
    void clear_faults();
    std::uint64_t faults_injected() const;
    std::uint64_t events_dropped() const;
};

// A connected PF_SYSTEM control socket.
class InProcessControl {
public:
    // socket(PF_SYSTEM, type, SYSPROTO_CONTROL) + CTLIOCGINFO + connect, as a
    // process with effective uid `uid`. nullptr and `error` on failure
    // (ENOENT no such control, EPERM privileged, EPROTOTYPE, EBUSY, or the
    // kext's ctl_connect errno).
    static std::unique_ptr<InProcessControl> connect(const std::string& name, uid_t uid, int& error,
                                                     int type = 2 /* SOCK_DGRAM */, std::uint32_t unit = 0);
    ~InProcessControl(); // close(): runs ctl_disconnect
    InProcessControl(const InProcessControl&) = delete;
    InProcessControl& operator=(const InProcessControl&) = delete;

    // 0, or -1 with errno, like the syscalls.
    int setsockopt(int level, int opt, const void* value, std::size_t len);
    int getsockopt(int level, int opt, void* value, std::size_t* len);
    // One record; -1/EAGAIN when none is waiting. Truncates like recv(2).
    ssize_t recv(void* buf, std::size_t len);
    std::uint32_t unit() const { return unit_; }

private:
    InProcessControl();
    std::unique_ptr<ControlEndpoint> ep_;
    QueueSink* queue_ = nullptr; // owned by the unit while connected
    std::uint32_t unit_ = 0;
};

// A SYSPROTO_EVENT socket.
class InProcessEvents {
public:
    InProcessEvents();
    ~InProcessEvents();
    InProcessEvents(const InProcessEvents&) = delete;
    InProcessEvents& operator=(const InProcessEvents&) = delete;

    void set_filter(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass); // SIOCSKEVFILT
    int vendor_code(const std::string& vendor, std::uint32_t& code);                        // SIOCGKEVVENDOR
    // One kern_event_msg; -1/EAGAIN when none is waiting.
    ssize_t recv(void* buf, std::size_t len);

private:
    std::unique_ptr<EventEndpoint> ep_;
    QueueSink* queue_ = nullptr;
};

} // namespace kextsim
