// The kernel link: the platform seam between user space and a kext. On macOS
// it is PF_SYSTEM sockets (kernel_link_darwin.cpp); elsewhere it is kextsim's
// client library (kernel_link_kextsim.cpp). Nothing else in user space knows
// which one it runs on.
//
// Threading: each object is used by one thread at a time.
#pragma once

#include <kextconf/codec.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace kextconf {

// What went wrong talking to a kext or its loader, for a person: errno plus
// the kext's (or the loader's) own reason, naming the tunable where there is
// one. The one error type of user space's kext operations.
struct KextError {
    std::error_code ec;
    std::string message;
    explicit operator bool() const { return static_cast<bool>(ec); }
};

// A connection to one kernel control ("<bundle-id>" or "<bundle-id>.query").
// connect() makes the platform's; a test may derive its own transport (the
// in-process kextsim) and hand it to KextClient::over().
class ControlSocket {
public:
    // Looks the control up by name and connects. Errors: ENOENT (no such
    // control: the kext is not loaded), EPERM (privileged control, not root),
    // ECONNREFUSED (kextsim only: no host running).
    static std::unique_ptr<ControlSocket> connect(const std::string& name, std::error_code& ec);
    virtual ~ControlSocket();
    ControlSocket(const ControlSocket&) = delete;
    ControlSocket& operator=(const ControlSocket&) = delete;

    virtual std::error_code setopt(int opt, proto::ByteView value);
    // getsockopt with `in` copied into a buffer of out_size bytes; `out`
    // receives what the kext produced.
    virtual std::error_code getopt(int opt, proto::ByteView in, std::size_t out_size, proto::Bytes& out);

    struct Impl;

protected:
    ControlSocket(); // a derived transport: no platform socket

private:
    explicit ControlSocket(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// A kern_event message.
struct KernEvent {
    std::uint32_t vendor = 0;
    std::uint32_t kev_class = 0;
    std::uint32_t subclass = 0;
    std::uint32_t id = 0;
    std::uint32_t code = 0;
    proto::Bytes data;
};

// A SYSPROTO_EVENT socket.
class EventSocket {
public:
    static std::unique_ptr<EventSocket> open(std::error_code& ec);
    ~EventSocket();
    EventSocket(const EventSocket&) = delete;
    EventSocket& operator=(const EventSocket&) = delete;

    std::error_code set_filter(std::uint32_t vendor, std::uint32_t kev_class, std::uint32_t subclass);
    // SIOCGKEVVENDOR: ENOENT until the kext has created its vendor code.
    std::error_code vendor_code(const std::string& vendor, std::uint32_t& code);
    // Pollable descriptor: readable when an event is waiting.
    int native_handle() const;
    // Reads one event without blocking; nullopt when none is waiting (ec
    // clear) or on error (ec set, e.g. the host went away). Read until
    // nullopt before waiting on native_handle() again: the kextsim link
    // takes every waiting event in one exchange with its host, and the
    // descriptor is not readable for those it holds.
    std::optional<KernEvent> read(std::error_code& ec);

    struct Impl;

private:
    explicit EventSocket(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Apple's kern_event coordinates for kernel control (de)registration.
inline constexpr std::uint32_t kKevVendorApple = 1;
inline constexpr std::uint32_t kKevSystemClass = 3;
inline constexpr std::uint32_t kKevCtlSubclass = 2;
inline constexpr std::uint32_t kKevCtlRegistered = 1;
inline constexpr std::uint32_t kKevCtlDeregistered = 2;

// Loading and unloading kexts: kmutil on macOS (kernel_link_darwin.cpp),
// kextsim's load/unload requests elsewhere. `message` is what the loader said,
// plus what to do about it on failure. Root only on macOS.
KextError load_kext_bundle(const std::string& bundle_path);
KextError unload_kext_bundle(const std::string& bundle_id);
// Whether `bundle_id` is loaded; `message` is the loader's line about it.
KextError kext_load_state(const std::string& bundle_id, bool& loaded);

// Where the link goes, for messages ("kextsim at /run/kextsim" or "the kernel").
std::string kernel_link_description();

} // namespace kextconf
