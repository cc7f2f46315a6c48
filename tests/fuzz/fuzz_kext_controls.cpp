// libFuzzer target: the reference kext's two kernel controls, driven in
// kextsim's in-process mode by sequences of connect / setsockopt / getsockopt
// / recv / disconnect and fault injection, all chosen by the input. The kext
// and the kernel library are instrumented too, so coverage guides the fuzzer
// into the kernel code. Any crash, sanitizer report or kextsim panic (a kext
// bug XNU would panic on) is a finding.
#include <kextconf/codec.hpp>
#include <kextconf/defaults.hpp>
#include <kextsim/darwin.hpp>
#include <kextsim/inproc.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace kextconf::proto;
using kextsim::InProcessControl;

constexpr const char* kBundleId = KEXTCONF_DEFAULT_KEXT;
using kextsim::kSysprotoControl;
constexpr std::size_t kSlots = 4;
constexpr int kMaxOps = 64;
constexpr const char* kSites[] = {"alloc", "event", "enqueue", "enobufs", "rw_upgrade"};

kextsim::InProcessHost* g_host = nullptr;

// The reference kext's table, as it describes itself at start-up: the
// indices of its two lists and one past its last tunable.
std::uint32_t g_blocked_ports = 0, g_trusted_paths = 0, g_count = 0;

// A value header for a real tunable, with a payload that is usually well
// formed, so the fuzzer gets past the length checks often.
std::vector<std::uint8_t> make_set(FuzzedDataProvider& in)
{
    kc_value_hdr h{};
    h.index = in.ConsumeIntegralInRange<std::uint32_t>(0, g_count);
    h.type = in.ConsumeIntegralInRange<std::uint32_t>(0, KC_TYPE__COUNT);
    h.offset = in.ConsumeBool() ? 0 : in.ConsumeIntegral<std::uint32_t>();
    std::vector<std::uint8_t> payload = in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 80));
    h.length = in.ConsumeBool() ? static_cast<std::uint32_t>(payload.size()) : in.ConsumeIntegral<std::uint32_t>();
    h.count = in.ConsumeBool() ? (h.type == KC_TYPE_STRING ? h.length : 1) : in.ConsumeIntegral<std::uint32_t>();
    h.total = in.ConsumeBool() ? h.count : in.ConsumeIntegral<std::uint32_t>();
    std::vector<std::uint8_t> out = encode(h);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

// Finds the list tunables by name, so the fuzzer follows the table.
bool learn_table()
{
    int err = 0;
    auto c = InProcessControl::connect(kBundleId, 0, err);
    kc_hello_reply hello{};
    std::size_t len = sizeof hello;
    if (!c || c->getsockopt(kSysprotoControl, KC_OPT_HELLO, &hello, &len) != 0)
        return false;
    g_count = hello.tunable_count;
    for (std::uint32_t i = 0; i < g_count; ++i) {
        kc_tunable_desc d{};
        std::memcpy(&d, &i, sizeof i);
        len = sizeof d;
        if (c->getsockopt(kSysprotoControl, KC_OPT_DESCRIBE, &d, &len) != 0)
            return false;
        if (field_string(d.name) == "blocked_ports")
            g_blocked_ports = i;
        else if (field_string(d.name) == "trusted_paths")
            g_trusted_paths = i;
    }
    return g_blocked_ports != 0 && g_trusted_paths != 0;
}

// A list value sent as a stream of TXN_SET chunks: usually well formed
// (consecutive offsets, the same total, elements mostly in range), with the
// input choosing where to break it (gaps, overlaps, a changed total, a
// count that disagrees with the payload, elements out of range, too long or
// with embedded NULs, a total past max_count).
void stream_list(FuzzedDataProvider& in, InProcessControl& c)
{
    const bool ints = in.ConsumeBool();
    kc_value_hdr h{};
    h.index = in.ConsumeProbability<float>() < 0.9f ? (ints ? g_blocked_ports : g_trusted_paths)
                                                    : in.ConsumeIntegralInRange<std::uint32_t>(0, g_count);
    h.type = in.ConsumeProbability<float>() < 0.9f ? (ints ? KC_TYPE_INT64_LIST : KC_TYPE_STRING_LIST)
                                                   : in.ConsumeIntegralInRange<std::uint32_t>(0, KC_TYPE__COUNT);
    const std::uint32_t total = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint32_t>(0, 40)
                                                 : in.ConsumeIntegralInRange<std::uint32_t>(99990, 100010);
    const int chunks = in.ConsumeIntegralInRange<int>(1, 6);
    std::uint32_t offset = 0;
    for (int i = 0; i < chunks && in.remaining_bytes() > 0; ++i) {
        h.offset = in.ConsumeProbability<float>() < 0.85f ? offset : in.ConsumeIntegralInRange<std::uint32_t>(0, 64);
        h.total = in.ConsumeProbability<float>() < 0.9f ? total : in.ConsumeIntegral<std::uint32_t>();
        const std::uint32_t n = in.ConsumeIntegralInRange<std::uint32_t>(0, 12);
        std::vector<std::uint8_t> payload;
        for (std::uint32_t e = 0; e < n; ++e) {
            if (ints) {
                const std::int64_t v = in.ConsumeProbability<float>() < 0.9f
                                           ? in.ConsumeIntegralInRange<std::int64_t>(1, 65535)
                                           : in.ConsumeIntegral<std::int64_t>();
                const auto* b = reinterpret_cast<const std::uint8_t*>(&v);
                payload.insert(payload.end(), b, b + sizeof v);
            } else {
                const std::size_t len = in.ConsumeProbability<float>() < 0.9f
                                            ? in.ConsumeIntegralInRange<std::size_t>(0, 24)
                                            : in.ConsumeIntegralInRange<std::size_t>(250, 300);
                std::string str = in.ConsumeBool() ? std::string(len, 'p') : in.ConsumeBytesAsString(len);
                payload.insert(payload.end(), str.begin(), str.end());
                if (in.ConsumeProbability<float>() < 0.95f)
                    payload.push_back(0);
            }
        }
        h.count = in.ConsumeProbability<float>() < 0.9f ? n : in.ConsumeIntegralInRange<std::uint32_t>(0, 16);
        h.length = static_cast<std::uint32_t>(payload.size());
        std::vector<std::uint8_t> buf = encode(h);
        buf.insert(buf.end(), payload.begin(), payload.end());
        c.setsockopt(kSysprotoControl, KC_OPT_TXN_SET, buf.data(), buf.size());
        offset += n;
    }
}

// KC_OPT_GET of a list from an offset, into a buffer of any size.
void get_list(FuzzedDataProvider& in, InProcessControl& c)
{
    const kc_get_req req{in.ConsumeIntegralInRange<std::uint32_t>(0, g_count),
                         in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint32_t>(0, 48)
                                          : in.ConsumeIntegral<std::uint32_t>()};
    std::vector<std::uint8_t> buf(std::max<std::size_t>(sizeof req, in.ConsumeIntegralInRange<std::size_t>(0, 600)));
    std::memcpy(buf.data(), &req, sizeof req);
    std::size_t len = in.ConsumeIntegralInRange<std::size_t>(0, buf.size());
    c.getsockopt(kSysprotoControl, KC_OPT_GET, buf.data(), &len);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    g_host = new kextsim::InProcessHost;
    const std::string err = g_host->load(KEXTCONF_FUZZ_KEXT_BUNDLE);
    if (!err.empty()) {
        std::fprintf(stderr, "fuzz_kext_controls: cannot load the reference kext: %s\n", err.c_str());
        std::abort();
    }
    if (!learn_table()) {
        std::fprintf(stderr, "fuzz_kext_controls: the reference kext has no blocked_ports/trusted_paths lists\n");
        std::abort();
    }
    // Unload at exit (before the simulated kernel's own statics go), so the
    // leak check sees a clean stop rather than a kext still loaded.
    std::atexit([] { delete g_host; });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    std::array<std::unique_ptr<InProcessControl>, kSlots> clients;
    for (int op = 0; op < kMaxOps && in.remaining_bytes() > 0; ++op) {
        auto& c = clients[in.ConsumeIntegralInRange<std::size_t>(0, kSlots - 1)];
        switch (in.ConsumeIntegralInRange<int>(0, 9)) {
        case 0: { // connect to the admin or the query control, as root or not
            int err = 0;
            const bool admin = in.ConsumeBool();
            const uid_t uid = in.ConsumeBool() ? 0 : 501;
            c = InProcessControl::connect(admin ? kBundleId : std::string(kBundleId) + KC_QUERY_SUFFIX, uid, err);
            break;
        }
        case 1: c.reset(); break; // disconnect (discards an open transaction)
        case 2:
            if (c) { // begin at a generation near the current one
                kc_state st{};
                std::size_t len = sizeof st;
                c->getsockopt(kSysprotoControl, KC_OPT_STATE, &st, &len);
                const kc_txn_begin b{st.generation + in.ConsumeIntegralInRange<std::uint64_t>(0, 1)};
                c->setsockopt(kSysprotoControl, KC_OPT_TXN_BEGIN, &b, sizeof b);
            }
            break;
        case 3:
            if (c) { // one value, or several in one option (version 2)
                auto buf = make_set(in);
                for (int more = in.ConsumeIntegralInRange<int>(0, 3); more > 0; --more) {
                    const auto next = make_set(in);
                    buf.insert(buf.end(), next.begin(), next.end());
                }
                c->setsockopt(kSysprotoControl, KC_OPT_TXN_SET, buf.data(), buf.size());
            }
            break;
        case 4:
            if (c) { // commit / any getter, with a buffer of any size
                const int opt = in.ConsumeBool() ? KC_OPT_TXN_COMMIT : in.ConsumeIntegralInRange<int>(0, 12);
                std::vector<std::uint8_t> buf = in.ConsumeBytes<std::uint8_t>(16);
                buf.resize(in.ConsumeIntegralInRange<std::size_t>(0, 1024));
                std::size_t len = buf.size();
                c->getsockopt(in.ConsumeBool() ? kSysprotoControl : in.ConsumeIntegral<int>(), opt,
                              buf.empty() ? nullptr : buf.data(), &len);
            }
            break;
        case 5:
            if (c) { // any option, raw bytes
                const int opt = in.ConsumeIntegralInRange<int>(0, 12);
                const auto bytes = in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 64));
                c->setsockopt(kSysprotoControl, opt, bytes.empty() ? nullptr : bytes.data(), bytes.size());
            }
            break;
        case 6: { // fail the n-th call at a site
            const char* site = kSites[in.ConsumeIntegralInRange<std::size_t>(0, std::size(kSites) - 1)];
            g_host->fail_nth(site, in.ConsumeIntegralInRange<std::uint64_t>(1, 4));
            break;
        }
        case 8:
            if (c)
                stream_list(in, *c);
            break;
        case 9:
            if (c)
                get_list(in, *c);
            break;
        default:
            if (c) {
                std::uint8_t buf[256];
                c->recv(buf, in.ConsumeIntegralInRange<std::size_t>(0, sizeof buf));
            }
            break;
        }
    }
    for (auto& c : clients)
        c.reset();
    g_host->clear_faults();
    return 0;
}
