// kextsim's kernel control registry: registered controls, their connected
// units, and each unit's receive buffer accounting.
//
// Threading: any thread. One registry mutex guards the maps and is never held
// while a kext callback runs (XNU drops the socket lock around callbacks, so
// a kext may call ctl_enqueuedata from inside its own callback); each unit has
// its own mutex for its buffer.
#pragma once

#include "sink.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kextsim {

struct Unit {
    std::uint32_t unit = 0;
    void* unitinfo = nullptr;
    std::mutex m;
    std::unique_ptr<RecordSink> sink;  // where enqueued data goes
    bool connected = false;            // false while ctl_connect runs and after disconnect
    std::size_t hiwat = 0;             // receive buffer size (ctl_recvsize)
    std::size_t cc = 0;                // bytes enqueued and not yet read by the client
    std::vector<std::uint8_t> pending; // record being built (no CTL_DATA_EOR yet)
};

struct Control {
    std::uint32_t id = 0;
    std::uint64_t handle = 0; // id in the low 32 bits, registration generation above
    std::string name;
    std::uint32_t flags = 0;
    std::uint32_t sendsize = 0;
    std::uint32_t recvsize = 0;
    void* cookie = nullptr; // kernel-domain registration
    int owner = -1;         // load index of the kext that registered it
    std::map<std::uint32_t, std::shared_ptr<Unit>> units;
};

// What a client needs to call into a control without holding the registry.
struct ControlRef {
    std::uint64_t handle = 0;
    std::uint32_t id = 0;
    void* cookie = nullptr;
    std::uint32_t flags = 0;
    std::uint32_t sendsize = 0;
};

class ControlRegistry {
public:
    static constexpr std::uint32_t kDefaultSendSize = 2048; // CTL_SENDSIZE in kern_control.c
    static constexpr std::uint32_t kDefaultRecvSize = 8192; // CTL_RECVSIZE
    static constexpr std::uint32_t kMaxUnit = 65535;
    // kern.ipc.maxsockbuf's default: larger buffer sizes are clamped.
    static constexpr std::int32_t kMaxSockBuf = 8 * 1024 * 1024;

    // Overrides every control's receive buffer size (0: use ctl_recvsize),
    // so tests can make ENOBUFS easy to reach. Set before kexts load.
    void set_recvsize_override(std::uint32_t bytes) { recvsize_override_ = bytes; }

    // All return Darwin errnos.
    int register_control(const std::string& name, std::uint32_t flags, std::uint32_t& id, std::uint32_t unit,
                         std::uint32_t& sendsize, std::uint32_t& recvsize, void* cookie, int owner,
                         std::uint64_t& handle);
    int deregister(std::uint64_t handle);
    int enqueue(std::uint64_t handle, std::uint32_t unit, const void* data, std::size_t len, std::uint32_t flags);
    int space(std::uint64_t handle, std::uint32_t unit, std::size_t& out);

    int find_by_name(const std::string& name, std::uint32_t& id);
    std::size_t count();

    // Reserves a unit for a connecting client (sc_unit 0 = lowest free).
    // `is_root` is the peer's euid == 0; `stream` whether the client socket is
    // SOCK_STREAM.
    int reserve_unit(std::uint32_t id, std::uint32_t requested, bool is_root, bool stream, ControlRef& ref,
                     std::shared_ptr<Unit>& unit);
    // Gives the reserved unit its sink and lets the kext enqueue to it (from
    // inside ctl_connect already).
    void activate(const std::shared_ptr<Unit>& unit, std::unique_ptr<RecordSink> sink, void* unitinfo);
    // Removes the unit after ctl_disconnect ran; releases its sink.
    void release_unit(const ControlRef& ref, const std::shared_ptr<Unit>& unit);
    // The client consumed `bytes` from its data channel.
    static void consumed(const std::shared_ptr<Unit>& unit, std::size_t bytes);
    static std::size_t hiwat(const std::shared_ptr<Unit>& unit);
    static void set_hiwat(const std::shared_ptr<Unit>& unit, std::size_t bytes); // SO_RCVBUF

    // Names of the controls registered by kext `owner`.
    std::vector<std::string> owned_by(int owner);
    std::string describe(); // one line per control, for `kextsim stats`

private:
    std::shared_ptr<Unit> find_unit(std::uint64_t handle, std::uint32_t unit);

    std::mutex m_;
    std::map<std::uint32_t, Control> controls_; // by id
    std::uint32_t generation_ = 0;
    std::uint32_t recvsize_override_ = 0;
};

} // namespace kextsim
