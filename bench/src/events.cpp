// 6. Events: the benchmark kext with 256 tunables posting as fast as it can
// (a writer commits changes to all 256 in a loop: each commit posts one
// KC_EV_APPLIED and 256 KC_EV_TUNABLE_CHANGED) while one listener reads its
// kern_events through kextsim. Reported: events delivered per second, and
// the events lost, found two ways that must agree: gaps in the events'
// sequence numbers (kc_event_hdr.seq) against the drops counted by the kext
// (KC_OPT_COUNTERS events_dropped) plus those kextsim counted at the
// listener's full 32 KiB buffer (`kextsim stats` events_dropped).
#include "benches.hpp"
#include <kextconf/kext_client.hpp>

#include <kextconf/proto.h>
#include <kextsim/client.hpp>

#include <atomic>
#include <cstring>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>

namespace kcbench {

namespace {

std::unique_ptr<kextsim::SystemSocket> admin_socket(const std::string& root)
{
    auto s = kextsim::SystemSocket::open(kextsim::kSockDgram, kextsim::kSysprotoControl, root);
    kextsim::ctl_info info{};
    std::strncpy(info.ctl_name, "org.kextconf.bench256", sizeof info.ctl_name - 1);
    kextsim::sockaddr_ctl addr{};
    addr.sc_len = sizeof addr;
    addr.sc_family = kextsim::kPfSystem;
    addr.ss_sysaddr = kextsim::kAfSysControl;
    if (!s || s->ioctl(kextsim::kCtlIocGInfo, &info) != 0)
        throw std::runtime_error("no admin control");
    addr.sc_id = info.ctl_id;
    if (s->connect(&addr, sizeof addr) != 0)
        throw std::runtime_error("admin connect failed");
    return s;
}

std::uint64_t kext_dropped(kextsim::SystemSocket& admin)
{
    kc_counters c{};
    std::size_t len = sizeof c;
    if (admin.getsockopt(kextsim::kSysprotoControl, KC_OPT_COUNTERS, &c, &len) != 0)
        throw std::runtime_error("KC_OPT_COUNTERS failed");
    return c.events_dropped;
}

std::uint64_t host_dropped(const std::string& root)
{
    const auto r = kextsim::host_stats(root);
    std::istringstream in(r.message);
    std::string key;
    std::uint64_t v = 0;
    while (in >> key) {
        if (key == "events_dropped" && (in >> v))
            return v;
        std::string rest;
        std::getline(in, rest);
    }
    throw std::runtime_error("kextsim stats has no events_dropped: " + r.message);
}

} // namespace

void bench_events(Table& t, const Options& o)
{
    const auto boot = boot_kexts({{"BenchKext256", "org.kextconf.bench256"}});
    const KextsimBoot& host = *boot;
    const ScopedEnv root("KEXTSIM_ROOT", host.root());
    auto ev = kextsim::SystemSocket::open(kextsim::kSockRaw, kextsim::kSysprotoEvent, host.root());
    kextsim::kev_vendor_code vc{};
    std::strncpy(vc.vendor_string, "org.kextconf.bench256", sizeof vc.vendor_string - 1);
    if (!ev || ev->ioctl(kextsim::kSiocGKevVendor, &vc) != 0)
        throw std::runtime_error("no vendor code");
    kextsim::kev_request req{vc.vendor_code, KC_EVENT_CLASS, 0};
    if (ev->ioctl(kextsim::kSiocSKevFilt, &req) != 0)
        throw std::runtime_error("SIOCSKEVFILT failed");
    auto admin = admin_socket(host.root());
    const std::uint64_t kext0 = kext_dropped(*admin), host0 = host_dropped(host.root());

    std::atomic<bool> stop{false};
    std::uint64_t commits = 0;
    std::string writer_error;
    std::thread writer([&] {
        try {
            kextconf::KextError err;
            auto k = kextconf::KextClient::connect("org.kextconf.bench256", kextconf::KextClient::Access::Admin, err);
            if (!k)
                throw std::runtime_error(err.message);
            kc_state st{};
            if (auto e = k->state(st))
                throw std::runtime_error(e.message);
            std::uint64_t gen = st.generation;
            for (std::int64_t i = 1; !stop; ++i) {
                std::vector<std::pair<std::uint32_t, kextconf::proto::Value>> vals;
                for (std::uint32_t x = 0; x < 256; ++x)
                    vals.emplace_back(x, kextconf::proto::Value::of_int(i * 1000 + x));
                kextconf::ApplyResult r;
                if (auto e = k->apply(gen, vals, r))
                    throw std::runtime_error(e.message);
                gen = r.generation;
                ++commits;
            }
        } catch (const std::exception& e) {
            writer_error = e.what();
        }
    });

    // The listener: this thread. After the writing window, one last
    // one-tunable commit follows the drained stream, so events lost at the
    // very end also show as a gap before its sequence numbers.
    const double seconds = o.smoke ? 0.5 : o.quick ? 3 : 10;
    std::uint64_t delivered = 0, gaps = 0;
    std::uint32_t last_seq = 0;
    unsigned char buf[512];
    auto take = [&](const unsigned char* p, std::size_t n) {
        if (n < sizeof(kextsim::kern_event_msg_header) + sizeof(kc_event_hdr))
            return;
        kc_event_hdr eh{};
        std::memcpy(&eh, p + sizeof(kextsim::kern_event_msg_header), sizeof eh);
        ++delivered;
        if (last_seq != 0 && eh.seq > last_seq + 1)
            gaps += eh.seq - last_seq - 1;
        last_seq = eh.seq;
    };
    // Reads what arrives until nothing has for `quiet_ms` (or until `until`).
    auto drain = [&](int quiet_ms, Clock::time_point until = Clock::time_point::max()) {
        while (Clock::now() < until) {
            pollfd p{ev->readable_fd(), POLLIN, 0};
            if (::poll(&p, 1, quiet_ms) <= 0)
                return;
            const ssize_t n = ev->recv(buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                throw std::runtime_error(std::string("event recv: ") + std::strerror(errno));
            if (n > 0)
                take(buf, static_cast<std::size_t>(n));
        }
    };
    const auto t0 = Clock::now();
    const auto window_end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    while (Clock::now() < window_end && writer_error.empty())
        drain(100, window_end);
    stop = true;
    writer.join();
    const double active = seconds_since(t0);
    const std::uint64_t delivered_in_window = delivered;
    drain(50);
    {
        kextconf::KextError err;
        auto k = kextconf::KextClient::connect("org.kextconf.bench256", kextconf::KextClient::Access::Admin, err);
        kc_state st{};
        kextconf::ApplyResult r;
        if (!k || k->state(st) || k->apply(st.generation, {{0, kextconf::proto::Value::of_int(7)}}, r))
            throw std::runtime_error("final commit failed");
    }
    drain(200);
    if (!writer_error.empty())
        throw std::runtime_error("writer: " + writer_error);
    const std::uint64_t kext_d = kext_dropped(*admin) - kext0, host_d = host_dropped(host.root()) - host0;
    const double rate = static_cast<double>(delivered_in_window) / active;
    t.add({"6",
           "events delivered/s to one listener (" + fmt_num(static_cast<double>(commits) / active, 3) +
               " commits/s x 257 events)",
           fmt_num(rate, 4), "", 0, "", true});
    const std::uint64_t counted = kext_d + host_d;
    t.add({"6",
           "events lost: sequence gaps / counted (kext " + std::to_string(kext_d) + " + kextsim listener " +
               std::to_string(host_d) + ")",
           std::to_string(gaps), std::to_string(counted) + " counted",
           counted ? static_cast<double>(gaps) / static_cast<double>(counted) : 0, "equal", gaps == counted});
}

} // namespace kcbench
