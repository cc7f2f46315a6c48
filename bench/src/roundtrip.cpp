// 1. Control round trip: one unprivileged get of a tunable through the
// kextsim host's query control (KextClient::get, what `kextconfctl get`
// does), against a raw AF_UNIX SOCK_SEQPACKET ping-pong between two
// processes carrying the same bytes (wire header + kc_get_req one way,
// wire header + kc_value_hdr + int64 back). The physical limit of this
// transport is the raw figure.
#include "benches.hpp"
#include "reference_kext.hpp"
#include <kextsim/client.hpp>

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kcbench {

namespace {

constexpr std::size_t kPing = kextsim::kMessageHeaderBytes + sizeof(kc_get_req);
constexpr std::size_t kPong = kextsim::kMessageHeaderBytes + sizeof(kc_value_hdr) + sizeof(std::int64_t);

// A peer process answering each kPing-byte message with kPong bytes.
class RawPeer {
public:
    RawPeer()
    {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
            throw std::runtime_error("socketpair failed");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(sv[0]);
            char in[kPing];
            char out[kPong] = {};
            while (::recv(sv[1], in, sizeof in, 0) > 0)
                if (::send(sv[1], out, sizeof out, MSG_NOSIGNAL) < 0)
                    break;
            ::_exit(0);
        }
        ::close(sv[1]);
        fd_ = sv[0];
    }
    ~RawPeer()
    {
        ::close(fd_);
        int st;
        ::waitpid(pid_, &st, 0);
    }
    void call()
    {
        char out[kPing] = {};
        char in[kPong];
        if (::send(fd_, out, sizeof out, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof out) ||
            ::recv(fd_, in, sizeof in, 0) != static_cast<ssize_t>(sizeof in))
            throw std::runtime_error("raw ping-pong failed");
    }

private:
    int fd_ = -1;
    pid_t pid_ = -1;
};

template <class F> void timed(Samples& s, int n, F&& f)
{
    for (int i = 0; i < n; ++i) {
        const auto t0 = Clock::now();
        f();
        s.add(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    }
}

} // namespace

void bench_roundtrip(Table& t, const Options& o)
{
    RawPeer raw; // forked before any thread exists
    const auto host = boot_kexts({{"KextconfReference", kReferenceBundleId}});
    const ScopedEnv root("KEXTSIM_ROOT", host->root());
    auto kext = connect_reference(kextconf::KextClient::Access::Query);
    const auto schema = describe_reference(*kext);
    const auto& desc = tunable_named(schema, "max_clients"); // a uint64
    auto get = [&] {
        kextconf::proto::Value v;
        if (auto e = kext->get(desc, v))
            throw std::runtime_error(e.message);
    };

    const int rounds = o.smoke ? 2 : o.quick ? 10 : 40;
    const int batch = o.smoke ? 200 : 2000;
    Samples rs, ks;
    timed(rs, batch, [&] { raw.call(); }); // warm-up, discarded
    timed(ks, batch, get);
    rs = {};
    ks = {};
    for (int r = 0; r < rounds; ++r) { // interleaved: the machine's noise hits both
        timed(rs, batch, [&] { raw.call(); });
        timed(ks, batch, get);
    }
    for (double p : {50.0, 99.0}) {
        const double k = ks.percentile(p) * 1e-9;
        const double b = rs.percentile(p) * 1e-9;
        const std::string name = p == 50 ? "p50" : "p99";
        t.add({"1", "get via query control, " + name, fmt_time(k), fmt_time(b) + " raw SEQPACKET", k / b, "<= 1.3x",
               k / b <= 1.3});
    }
}

} // namespace kcbench
