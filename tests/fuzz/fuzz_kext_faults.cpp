// libFuzzer target: transactions on the reference kext's admin control with
// fault injection, both chosen by the input, checked against a model after
// every step (fuzz_kext_controls looks for crashes; this one for wrong
// answers). Up to four admin connections begin, set, commit, abort and
// disconnect in any order; any step may run with the N-th call at a fault
// site failing. After each step a privileged reader (never under a fault)
// reads the state (and the whole snapshot after a commit and at the end),
// and:
//  - the generation moves only when a commit reported success, by one, and
//    the values are then exactly what that connection staged;
//  - otherwise the values, hash and generation are unchanged;
//  - the kext's hash equals proto::config_hash over the values read;
//  - a set the kext accepted carried a value valid for the tunable's type,
//    range and length (the kernel trusts nothing), and without a fault a
//    valid value on an open transaction is accepted;
//  - every failure returned an errno;
//  - the client count is the model's.
// Every 512 inputs the kext is unloaded, which must report no leak, and
// loaded again. A violated invariant aborts with a message (a finding).
#include <kextconf/codec.hpp>
#include <kextconf/defaults.hpp>
#include <kextsim/inproc.hpp>

#include "../support/snapshot_read.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace kextconf::proto;
using kextsim::InProcessControl;

constexpr const char* kBundleId = KEXTCONF_DEFAULT_KEXT;
constexpr int kCtl = 2;
constexpr std::size_t kSlots = 4;
constexpr int kMaxOps = 48;
constexpr const char* kSites[] = {"alloc", "event", "enqueue", "enobufs", "rw_upgrade"};

kextsim::InProcessHost* g_host = nullptr;
std::unique_ptr<InProcessControl> g_reader;
std::vector<TunableDesc> g_schema;
unsigned g_inputs = 0;

[[noreturn]] void finding(const std::string& what)
{
    std::fprintf(stderr, "fuzz_kext_faults: invariant violated: %s\n", what.c_str());
    std::abort();
}

void load_kext()
{
    const std::string err = g_host->load(KEXTCONF_FUZZ_KEXT_BUNDLE);
    if (!err.empty())
        finding("cannot load the reference kext: " + err);
    int e = 0;
    g_reader = InProcessControl::connect(kBundleId, 0, e);
    if (!g_reader)
        finding("reader connect failed");
    if (!g_schema.empty())
        return;
    kc_state st{};
    std::size_t len = sizeof st;
    g_reader->getsockopt(kCtl, KC_OPT_STATE, &st, &len);
    for (std::uint32_t i = 0; i < st.tunable_count; ++i) {
        kc_tunable_desc d{};
        std::memcpy(&d, &i, sizeof i);
        len = sizeof d;
        if (g_reader->getsockopt(kCtl, KC_OPT_DESCRIBE, &d, &len) != 0)
            finding("describe failed");
        auto t = TunableDesc::from_wire(d);
        if (!t)
            finding("undecodable descriptor");
        g_schema.push_back(*t);
    }
}

void unload_kext()
{
    g_reader.reset();
    std::string msg;
    if (g_host->unload(kBundleId, msg) != 0)
        finding("unload refused with no client connected: " + msg);
    if (msg.find("leak") != std::string::npos || msg.find("still registered") != std::string::npos)
        finding("unload after faults: " + msg);
}

kctest::SnapshotRead snapshot()
{
    std::string why;
    auto s = kctest::read_quiet_snapshot(*g_reader, why);
    if (!s)
        finding(why);
    return *s;
}

// A value for tunable `d`: mostly valid, sometimes just out of range or too
// long. `valid` says which (by the descriptor's rules).
Value make_value(FuzzedDataProvider& in, const TunableDesc& d, bool& valid)
{
    const bool bad = in.ConsumeIntegralInRange<int>(0, 7) == 0;
    Value v;
    valid = !bad;
    switch (d.type) {
    case KC_TYPE_BOOL:
        v = Value::of_bool(in.ConsumeBool());
        valid = true;
        break;
    case KC_TYPE_UINT64:
        // Unsigned arithmetic wraps: max + 1 may be 0, still judged below.
        v = Value::of_uint(bad ? (in.ConsumeBool() ? d.max.u + 1 : d.min.u - 1)
                               : in.ConsumeIntegralInRange<std::uint64_t>(d.min.u, d.max.u));
        valid = v.scalar.u >= d.min.u && v.scalar.u <= d.max.u;
        break;
    case KC_TYPE_INT64:
        v = Value::of_int(bad ? (in.ConsumeBool() ? (d.max.i == INT64_MAX ? d.max.i : d.max.i + 1)
                                                  : (d.min.i == INT64_MIN ? d.min.i : d.min.i - 1))
                              : in.ConsumeIntegralInRange<std::int64_t>(d.min.i, d.max.i));
        valid = v.scalar.i >= d.min.i && v.scalar.i <= d.max.i;
        break;
    case KC_TYPE_ENUM: {
        const auto n = static_cast<std::uint32_t>(d.enum_names.size());
        v = Value::of_enum(bad ? n : in.ConsumeIntegralInRange<std::uint32_t>(0, n ? n - 1 : 0));
        valid = v.scalar.i >= 0 && static_cast<std::uint32_t>(v.scalar.i) < n;
        break;
    }
    case KC_TYPE_STRING: {
        std::string s = in.ConsumeRandomLengthString(bad ? d.max_count + 8 : d.max_count);
        valid = s.size() <= d.max_count && s.find('\0') == std::string::npos;
        v = Value::of_string(std::move(s));
        break;
    }
    case KC_TYPE_INT64_LIST: {
        std::vector<std::int64_t> xs(in.ConsumeIntegralInRange<std::size_t>(0, bad ? d.max_count + 2 : d.max_count));
        valid = xs.size() <= d.max_count;
        for (auto& x : xs) {
            x = in.ConsumeIntegralInRange<std::int64_t>(d.min.i, d.max.i);
        }
        if (bad && !xs.empty() && in.ConsumeBool()) {
            xs[0] = d.max.i == INT64_MAX ? d.max.i : d.max.i + 1;
            valid = valid && d.max.i == INT64_MAX;
        }
        v = Value::of_ints(std::move(xs));
        break;
    }
    default: { // KC_TYPE_STRING_LIST and anything newer: rules vary, don't judge
        std::vector<std::string> xs(in.ConsumeIntegralInRange<std::size_t>(0, 4));
        for (auto& x : xs)
            x = in.ConsumeRandomLengthString(16);
        v = Value::of_strings(std::move(xs));
        v.type = d.type;
        valid = false; // unknown: not asserted either way
        break;
    }
    }
    v.type = d.type;
    return v;
}

struct Slot {
    std::unique_ptr<InProcessControl> c;
    bool open = false;         // a transaction the kext accepted
    bool stale = false;        // another connection committed since it began
    std::vector<Value> staged; // its values
};

int err_of(int rc)
{
    return rc == 0 ? 0 : errno;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    g_host = new kextsim::InProcessHost;
    load_kext();
    std::atexit([] {
        g_reader.reset();
        delete g_host;
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (++g_inputs % 512 == 0) {
        unload_kext();
        load_kext();
    }
    FuzzedDataProvider in(data, size);
    std::array<Slot, kSlots> slots;
    kctest::SnapshotRead cur = snapshot();
    auto clients = [&] {
        std::uint32_t n = 1; // the reader
        for (const auto& s : slots)
            n += s.c ? 1 : 0;
        return n;
    };
    for (int op = 0; op < kMaxOps && in.remaining_bytes() > 0; ++op) {
        Slot& s = slots[in.ConsumeIntegralInRange<std::size_t>(0, kSlots - 1)];
        const int kind = in.ConsumeIntegralInRange<int>(0, 6);
        // Optionally fail the n-th call at a site during this step only.
        const bool armed = in.ConsumeIntegralInRange<int>(0, 2) == 0;
        const std::uint64_t before_faults = g_host->faults_injected();
        if (armed)
            g_host->fail_nth(kSites[in.ConsumeIntegralInRange<std::size_t>(0, std::size(kSites) - 1)],
                             in.ConsumeIntegralInRange<std::uint64_t>(1, 3));
        bool committed = false;
        std::vector<Value> committed_values;
        int err = 0;
        std::string refused_valid; // a valid set the kext refused: a finding unless a fault fired
        switch (kind) {
        case 0: { // connect (replacing: the old connection's transaction is discarded)
            s.c.reset();
            s.open = s.stale = false;
            int e = 0;
            s.c = InProcessControl::connect(kBundleId, 0, e);
            err = s.c ? 0 : (e ? e : -1);
            break;
        }
        case 1: // disconnect
            s.c.reset();
            s.open = s.stale = false;
            break;
        case 2: // begin at the current generation, or a stale one
            if (s.c) {
                const std::uint64_t gen = cur.state.generation - (in.ConsumeIntegralInRange<int>(0, 5) == 0 ? 1 : 0);
                const kc_txn_begin b{gen};
                err = err_of(s.c->setsockopt(kCtl, KC_OPT_TXN_BEGIN, &b, sizeof b));
                if (err == 0) {
                    if (s.open || gen != cur.state.generation)
                        finding("begin accepted with a transaction open or at a stale generation");
                    s.open = true;
                    s.stale = false;
                    s.staged = cur.values;
                }
            }
            break;
        case 3: // set one tunable
            if (s.c && !g_schema.empty()) {
                const TunableDesc& d = g_schema[in.ConsumeIntegralInRange<std::size_t>(0, g_schema.size() - 1)];
                bool valid = false;
                const Value v = make_value(in, d, valid);
                const auto chunks = encode_set_chunks(d.index, v);
                for (const auto& chunk : chunks)
                    if ((err = err_of(s.c->setsockopt(kCtl, KC_OPT_TXN_SET, chunk.data(), chunk.size()))) != 0)
                        break;
                const bool writable = !(d.flags & KC_TF_LOAD_ONLY);
                if (err == 0 && !chunks.empty()) {
                    if (!s.open)
                        finding("set accepted without a transaction");
                    if (d.type != KC_TYPE_STRING_LIST && (!valid || !writable))
                        finding("the kext accepted an invalid value for " + d.name);
                    s.staged[d.index] = v;
                }
                if (err != 0 && s.open && valid && writable && chunks.size() == 1 && d.type != KC_TYPE_STRING_LIST)
                    refused_valid =
                        "a valid value for " + d.name + " refused without a fault: errno " + std::to_string(err);
            }
            break;
        case 4: // commit
            if (s.c) {
                kc_commit_reply r{};
                std::size_t len = sizeof r;
                err = err_of(s.c->getsockopt(kCtl, KC_OPT_TXN_COMMIT, &r, &len));
                if (err == 0) {
                    if (!s.open || s.stale)
                        finding("commit succeeded without a transaction or on a stale one");
                    committed = true;
                    committed_values = s.staged;
                    if (r.generation != cur.state.generation + 1)
                        finding("commit reply generation " + std::to_string(r.generation));
                }
                s.open = false; // a commit ends the transaction whatever happens
            }
            break;
        case 5: // abort
            if (s.c) {
                err = err_of(s.c->setsockopt(kCtl, KC_OPT_TXN_ABORT, nullptr, 0));
                if (err == 0)
                    s.open = false;
            }
            break;
        default: { // a query client comes and goes (events, client counts)
            int e = 0;
            auto q = InProcessControl::connect(std::string(kBundleId) + KC_QUERY_SUFFIX, 501, e);
            err = q ? 0 : e;
            break;
        }
        }
        g_host->clear_faults();
        const bool faulted = g_host->faults_injected() != before_faults;
        if (err < 0)
            finding("a failure without an errno");
        if (!refused_valid.empty() && !faulted)
            finding(refused_valid);

        // The state after each step; the values too when it moved (a whole
        // read per step would make this target ten times slower). Equal
        // generation and hash mean equal values: the hash covers them all.
        kc_state st{};
        std::size_t st_len = sizeof st;
        if (g_reader->getsockopt(kCtl, KC_OPT_STATE, &st, &st_len) != 0)
            finding("state read failed");
        if (committed) {
            const kctest::SnapshotRead next = snapshot();
            if (next.state.generation != cur.state.generation + 1 || !(next.values == committed_values))
                finding("a successful commit did not install exactly the staged values");
            cur = next;
        } else if (st.generation != cur.state.generation || st.config_hash != cur.state.config_hash) {
            finding("the snapshot changed without a successful commit (step " + std::to_string(kind) + ")");
        }
        cur.state.clients = st.clients;
        cur.state.event_seq = st.event_seq;
        if (committed) { // other open transactions are now stale: their commit must fail (EAGAIN)
            for (auto& other : slots)
                other.stale = other.stale || (&other != &s && other.open);
        }
        if (st.clients != clients())
            finding("kext counts " + std::to_string(st.clients) + " clients, model " + std::to_string(clients()));
    }
    for (auto& s : slots)
        s.c.reset();
    const kctest::SnapshotRead end = snapshot();
    if (!kctest::same_snapshot(cur, end))
        finding("the snapshot changed when the connections closed");
    if (end.state.clients != 1)
        finding("clients left counted after every connection closed");
    return 0;
}
