// Driving the contract test kext (tests/kexts/contract) from a test: PF_SYSTEM
// control and event sockets through kextsim's client library, and the kext's
// commands (contract_cmds.h) as methods. The socket helpers (open_control,
// recv_record, the kern_event ones) serve any kext; the reference kext's
// tests use them too.
//
// Socket calls return 0 or the host errno (as the syscalls set it); kext
// results (cc_result.err) are Darwin errnos, as the KPI returned them. A
// command the kext refuses is recorded as a test failure.
//
// Threading: one thread per ContractClient, like the sockets it wraps.
#pragma once

#include "../kexts/contract/contract_cmds.h"
#include "process.hpp"

#include <kextsim/client.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace kctest {

inline std::string contract_bundle()
{
    return KEXTCONF_TEST_CONTRACT_KEXT_BUNDLE;
}

// 0 if a socket call succeeded (rc 0), else the errno it set.
inline int err_of_call(int rc)
{
    return rc == 0 ? 0 : errno;
}

// CTLIOCGINFO; 0 or the errno.
inline int control_id(kextsim::SystemSocket& s, const std::string& name, std::uint32_t& id)
{
    kextsim::ctl_info ci{};
    std::memcpy(ci.ctl_name, name.data(), std::min(name.size(), sizeof ci.ctl_name - 1));
    const int rc = s.ioctl(kextsim::kCtlIocGInfo, &ci);
    if (rc == 0)
        id = ci.ctl_id;
    return err_of_call(rc);
}

// connect to control `id`, `unit` (0: the kernel picks); 0 or the errno.
inline int connect_control_id(kextsim::SystemSocket& s, std::uint32_t id, std::uint32_t unit = 0)
{
    kextsim::sockaddr_ctl a{};
    a.sc_len = sizeof a;
    a.sc_family = kextsim::kPfSystem;
    a.ss_sysaddr = kextsim::kAfSysControl;
    a.sc_id = id;
    a.sc_unit = unit;
    return err_of_call(s.connect(&a, sizeof a));
}

// socket(PF_SYSTEM, type, SYSPROTO_CONTROL) + CTLIOCGINFO + connect to `unit`
// (0: the kernel picks). nullptr and `err` on failure. No gtest calls, so a
// forked child (run_in_child) may use it.
inline std::unique_ptr<kextsim::SystemSocket> open_control(const std::string& root, const std::string& name, int& err,
                                                           int type = kextsim::kSockDgram, std::uint32_t unit = 0)
{
    auto s = kextsim::SystemSocket::open(type, kextsim::kSysprotoControl, root);
    if (!s) {
        err = errno;
        return nullptr;
    }
    std::uint32_t id = 0;
    if ((err = control_id(*s, name, id)) != 0 || (err = connect_control_id(*s, id, unit)) != 0)
        return nullptr;
    return s;
}

// The next record on a control or event socket within `timeout`, read with a
// `buflen`-byte buffer (shorter records come back whole, longer ones cut).
inline std::optional<std::string> recv_record(kextsim::SystemSocket& s, std::size_t buflen, Millis timeout = 2000ms)
{
    pollfd p{s.readable_fd(), POLLIN, 0};
    int rc;
    do {
        rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return std::nullopt;
    std::string buf(buflen, '\0');
    const ssize_t n = s.recv(buf.data(), buflen, MSG_DONTWAIT);
    if (n < 0)
        return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
}

// True when nothing is waiting on the socket right now.
inline bool nothing_pending(kextsim::SystemSocket& s)
{
    char c;
    return s.recv(&c, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// A client of the contract kext's main control (or of any control, for the
// socket-level calls).
class ContractClient {
public:
    explicit ContractClient(std::unique_ptr<kextsim::SystemSocket> s) : s_(std::move(s)) {}
    kextsim::SystemSocket& socket() { return *s_; }

    int set(int opt, const void* data, std::size_t len)
    {
        return err_of_call(s_->setsockopt(kextsim::kSysprotoControl, opt, data, len));
    }
    template <class T> int set(int opt, const T& value) { return set(opt, &value, sizeof value); }

    // getsockopt with `in` copied in first; the reply.
    template <class T> T get(int opt, const T& in = T{})
    {
        T out = in;
        std::size_t len = sizeof out;
        const int rc = s_->getsockopt(kextsim::kSysprotoControl, opt, &out, &len);
        EXPECT_EQ(rc, 0) << "getsockopt option " << opt << ": " << std::strerror(errno);
        EXPECT_EQ(len, sizeof out) << "getsockopt option " << opt;
        return out;
    }
    cc_result result() { return get<cc_result>(CC_OPT_RESULT); }
    cc_whoami whoami() { return get<cc_whoami>(CC_OPT_WHOAMI); }
    cc_observed observed() { return get<cc_observed>(CC_OPT_OBSERVED); }

    // A set command that the kext must accept; the Darwin errno of the KPI
    // call it made (-1 if the command itself failed).
    int command(int opt, const void* data, std::size_t len)
    {
        const int e = set(opt, data, len);
        EXPECT_EQ(e, 0) << "contract command " << opt << " refused: " << std::strerror(e);
        return e == 0 ? result().err : -1;
    }

    // ctl_enqueuedata(control of `slot`, unit (0: this client's), data, flags).
    int enqueue(const std::string& data, std::uint32_t flags, std::uint32_t unit = 0, std::uint32_t slot = 0)
    {
        const cc_enqueue_req req{slot, unit, flags, static_cast<std::uint32_t>(data.size())};
        std::string buf(reinterpret_cast<const char*>(&req), sizeof req);
        buf += data;
        return command(CC_OPT_ENQUEUE, buf.data(), buf.size());
    }

    // ctl_getenqueuespace for `unit` (0: this client's) of `slot`'s control.
    cc_space_io space(std::uint32_t unit = 0, std::uint32_t slot = 0)
    {
        cc_space_io io{};
        io.slot = slot;
        io.unit = unit;
        return get(CC_OPT_SPACE, io);
    }

    // ctl_register of an extra control; the name is copied without adding a NUL.
    cc_result register_control(const std::string& name, std::uint32_t flags = 0, std::uint32_t sendsize = 0,
                               std::uint32_t recvsize = 0, bool null_connect = false)
    {
        cc_register_req req{};
        std::memcpy(req.name, name.data(), std::min(name.size(), sizeof req.name));
        req.flags = flags;
        req.sendsize = sendsize;
        req.recvsize = recvsize;
        req.null_connect = null_connect ? 1 : 0;
        const int e = set(CC_OPT_REGISTER, req);
        EXPECT_EQ(e, 0) << "CC_OPT_REGISTER refused: " << std::strerror(e);
        cc_result r{};
        r.err = -1;
        return e == 0 ? result() : r;
    }
    int deregister(std::uint32_t slot) { return command(CC_OPT_DEREGISTER, &slot, sizeof slot); }

    // kev_msg_post with vectors of `sizes` bytes (vendor 0: the kext's own).
    int post(const std::vector<std::uint32_t>& sizes, std::uint32_t kev_class = 1, std::uint32_t subclass = 1,
             std::uint32_t code = 1, std::uint32_t vendor = 0)
    {
        cc_event_req req{};
        req.vendor = vendor;
        req.kev_class = kev_class;
        req.kev_subclass = subclass;
        req.event_code = code;
        for (std::size_t i = 0; i < sizes.size() && i < CC_EVENT_VECTORS; ++i)
            req.sizes[i] = sizes[i];
        return command(CC_OPT_POST_EVENT, &req, sizeof req);
    }

private:
    std::unique_ptr<kextsim::SystemSocket> s_;
};

// A client of control `name` (the contract kext's main control by default)
// on the host at `root`; records a failure and returns nullptr if it cannot
// connect.
inline std::unique_ptr<ContractClient> connect_client(const std::string& root,
                                                      const std::string& name = CC_CONTROL_NAME)
{
    int err = 0;
    auto s = open_control(root, name, err);
    EXPECT_TRUE(s) << "connect to " << name << ": " << std::strerror(err);
    return s ? std::make_unique<ContractClient>(std::move(s)) : nullptr;
}

// `kextsim unload` of a contract kext a client made leak blocks of `sizes`
// bytes (CC_OPT_LEAK), and whether the kext was still loaded after it. ASan's
// leak check is off in that host: the blocks stay leaked there until it exits.
struct LeakUnload {
    Result unload;
    bool still_loaded = true;
};

inline LeakUnload unload_after_leaks(const std::vector<std::uint32_t>& sizes)
{
    ScopedEnv no_lsan("ASAN_OPTIONS", asan_without_leak_check());
    KextsimHost host(contract_bundle(), CC_BUNDLE_ID);
    LeakUnload out;
    if (!host.ready()) {
        ADD_FAILURE() << "kextsim host: " << host.not_ready();
        return out;
    }
    if (auto c = connect_client(host.root())) {
        for (const std::uint32_t size : sizes)
            EXPECT_EQ(c->set(CC_OPT_LEAK, size), 0);
    }
    // (the connection's own block, its unitinfo, is freed by ctl_disconnect)
    EXPECT_TRUE(host.wait_no_clients());
    out.unload = host.kextsim({"unload", CC_BUNDLE_ID});
    out.still_loaded = host.is_loaded(CC_BUNDLE_ID);
    return out;
}

// What the kext puts in byte j of event data vector i (contract_cmds.h).
inline std::string vector_bytes(std::uint32_t i, std::uint32_t size)
{
    std::string out;
    for (std::uint32_t j = 0; j < size; ++j)
        out.push_back(static_cast<char>(((i + 1) << 4) | (j & 0xf)));
    return out;
}

// ---- kern_event sockets ----

struct KernEvent {
    kextsim::kern_event_msg_header hdr{};
    std::string data;
};

// A kern_event socket on the host at `root` (it receives nothing until a
// filter is set); a failure and nullptr if it cannot be opened.
inline std::unique_ptr<kextsim::SystemSocket> event_listener(const std::string& root)
{
    auto s = kextsim::SystemSocket::open(kextsim::kSockRaw, kextsim::kSysprotoEvent, root);
    EXPECT_TRUE(s) << "event socket: " << std::strerror(errno);
    return s;
}

// SIOCSKEVFILT; 0 or the errno.
inline int set_event_filter(kextsim::SystemSocket& s, std::uint32_t vendor, std::uint32_t kev_class,
                            std::uint32_t subclass)
{
    kextsim::kev_request req{vendor, kev_class, subclass};
    return err_of_call(s.ioctl(kextsim::kSiocSKevFilt, &req));
}

inline std::uint32_t last_event_id(kextsim::SystemSocket& s)
{
    std::uint32_t id = 0;
    EXPECT_EQ(err_of_call(s.ioctl(kextsim::kSiocGKevId, &id)), 0) << "SIOCGKEVID";
    return id;
}

// The next event within `timeout`; nullopt if none.
inline std::optional<KernEvent> next_kern_event(kextsim::SystemSocket& s, Millis timeout = 2000ms)
{
    auto rec = recv_record(s, 1024, timeout);
    if (!rec)
        return std::nullopt;
    KernEvent e;
    if (rec->size() < sizeof e.hdr) {
        ADD_FAILURE() << "short kern_event record: " << rec->size() << " bytes";
        return std::nullopt;
    }
    std::memcpy(&e.hdr, rec->data(), sizeof e.hdr);
    EXPECT_EQ(e.hdr.total_size, rec->size()) << "total_size is the header plus the data";
    e.data = rec->substr(sizeof e.hdr);
    return e;
}

// Every event waiting now (posting is synchronous, so after kev_msg_post
// returned its events are either here or dropped).
inline std::vector<KernEvent> pending_events(kextsim::SystemSocket& s)
{
    std::vector<KernEvent> out;
    while (auto e = next_kern_event(s, 0ms))
        out.push_back(*e);
    return out;
}

// `kextsim stats`' events_dropped counter.
inline std::uint64_t events_dropped(const KextsimHost& host)
{
    const Result r = host.kextsim({"stats"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("events_dropped ", 0) == 0)
            return std::stoull(line.substr(15));
    ADD_FAILURE() << "no events_dropped line in kextsim stats:\n" << r.out;
    return 0;
}

} // namespace kctest
