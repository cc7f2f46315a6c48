// Contract tests of kextsim and the reference kext through kextsim's client
// library: the PF_SYSTEM calls a macOS process makes (CTLIOCGINFO, connect,
// get/setsockopt on SYSPROTO_CONTROL, kern_event sockets), over real sockets
// to a real `kextsim boot`.
#include "contract_client.hpp"
#include "process.hpp"

#include <kextconf/codec.hpp>
#include <kextsim/client.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace kctest;
namespace proto = kextconf::proto;
using kextsim::SystemSocket;
using proto::Bytes;
using proto::Value;

constexpr int kSockDgram = 2;
constexpr std::uint32_t kNoIndex = 0xffffffffu;
// kc_error_detail.error carries Darwin errno values.
constexpr std::uint32_t kDarwinEPERM = 1;
constexpr std::uint32_t kDarwinENOENT = 2;
constexpr std::uint32_t kDarwinEBUSY = 16;
constexpr std::uint32_t kDarwinEINVAL = 22;
constexpr std::uint32_t kDarwinEAGAIN = 35;
constexpr std::uint32_t kDarwinEMSGSIZE = 40;
constexpr std::uint32_t kDarwinEOPNOTSUPP = 102;

// Tunable indexes of the reference kext.
// (4 event_rate_limit and 5 heartbeat_interval are not used here.)
constexpr std::uint32_t kEnabled = 0, kMaxClients = 1, kLogLevel = 2, kSampleInterval = 3, kLabel = 6;

std::unique_ptr<SystemSocket> control_socket(const std::string& root)
{
    return SystemSocket::open(kSockDgram, kextsim::kSysprotoControl, root);
}

int set_opt(SystemSocket& s, int opt, const Bytes& data, int level = kextsim::kSysprotoControl)
{
    return err_of_call(s.setsockopt(level, opt, data.empty() ? nullptr : data.data(), data.size()));
}

// getsockopt with `buf` as input; on success buf holds what came out.
int get_opt(SystemSocket& s, int opt, Bytes& buf, int level = kextsim::kSysprotoControl)
{
    std::size_t len = buf.size();
    if (s.getsockopt(level, opt, buf.data(), &len) != 0)
        return errno;
    buf.resize(len);
    return 0;
}

kc_state state_of(SystemSocket& s)
{
    Bytes buf(sizeof(kc_state));
    const int e = get_opt(s, KC_OPT_STATE, buf);
    EXPECT_EQ(e, 0) << "KC_OPT_STATE: " << std::strerror(e);
    return proto::decode<kc_state>(buf).value_or(kc_state{});
}

// KC_OPT_STATE's generation, or 0; no gtest calls (usable in a forked child).
std::uint64_t state_of_quiet(SystemSocket& s)
{
    Bytes buf(sizeof(kc_state));
    if (get_opt(s, KC_OPT_STATE, buf) != 0)
        return 0;
    return proto::decode<kc_state>(buf).value_or(kc_state{}).generation;
}

kc_error_detail last_error(SystemSocket& s)
{
    Bytes buf(sizeof(kc_error_detail));
    const int e = get_opt(s, KC_OPT_LAST_ERROR, buf);
    EXPECT_EQ(e, 0) << "KC_OPT_LAST_ERROR: " << std::strerror(e);
    return proto::decode<kc_error_detail>(buf).value_or(kc_error_detail{});
}

std::optional<kc_hello_reply> hello(SystemSocket& s)
{
    Bytes buf(sizeof(kc_hello_reply));
    if (get_opt(s, KC_OPT_HELLO, buf) != 0)
        return std::nullopt;
    return proto::decode<kc_hello_reply>(buf);
}

std::optional<Value> value_of(SystemSocket& s, std::uint32_t index)
{
    Bytes buf = proto::encode(kc_get_req{index, 0});
    buf.resize(KC_OPT_MAX_LEN);
    if (get_opt(s, KC_OPT_GET, buf) != 0)
        return std::nullopt;
    auto chunk = proto::decode_value_chunk(buf);
    if (!chunk)
        return std::nullopt;
    Value v;
    v.type = chunk->hdr.type;
    if (!proto::append_chunk(v, *chunk))
        return std::nullopt;
    return v;
}

int begin_txn(SystemSocket& s, std::uint64_t generation)
{
    return set_opt(s, KC_OPT_TXN_BEGIN, proto::encode(kc_txn_begin{generation}));
}

int set_value(SystemSocket& s, std::uint32_t index, const Value& v)
{
    const auto chunks = proto::encode_set_chunks(index, v);
    EXPECT_EQ(chunks.size(), 1u);
    return chunks.empty() ? EINVAL : set_opt(s, KC_OPT_TXN_SET, chunks.front());
}

int commit_txn(SystemSocket& s, kc_commit_reply* reply = nullptr)
{
    Bytes buf(sizeof(kc_commit_reply));
    const int e = get_opt(s, KC_OPT_TXN_COMMIT, buf);
    if (e == 0 && reply != nullptr)
        *reply = proto::decode<kc_commit_reply>(buf).value_or(kc_commit_reply{});
    return e;
}

// A raw TXN_SET buffer: header then payload, lengths exactly as given.
Bytes raw_set(kc_value_hdr h, const std::string& payload)
{
    Bytes b = proto::encode(h);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

std::string scalar_bytes(std::uint64_t v)
{
    return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

const std::vector<Value> kDefaultValues = {Value::of_bool(true),        Value::of_uint(64), Value::of_enum(2),
                                           Value::of_int(1000),         Value::of_uint(0),  Value::of_uint(60000),
                                           Value::of_string("default"), Value::of_ints({}), Value::of_strings({})};

// Every tunable's current value, in index order.
std::vector<Value> all_values(SystemSocket& s)
{
    std::vector<Value> out;
    for (std::uint32_t i = 0; i < kDefaultValues.size(); ++i) {
        auto v = value_of(s, i);
        EXPECT_TRUE(v) << "KC_OPT_GET " << i;
        out.push_back(v.value_or(Value{}));
    }
    return out;
}

// ---- kern events ----

int vendor_code(SystemSocket& s, const std::string& vendor, std::uint32_t& code)
{
    kextsim::kev_vendor_code kv{};
    std::memcpy(kv.vendor_string, vendor.data(), std::min(vendor.size(), sizeof kv.vendor_string - 1));
    const int rc = s.ioctl(kextsim::kSiocGKevVendor, &kv);
    if (rc == 0)
        code = kv.vendor_code;
    return err_of_call(rc);
}

std::optional<proto::Event> next_kext_event(SystemSocket& s, std::uint32_t vendor, Millis timeout = 5000ms)
{
    auto raw = next_kern_event(s, timeout);
    if (!raw)
        return std::nullopt;
    EXPECT_EQ(raw->hdr.vendor_code, vendor);
    EXPECT_EQ(raw->hdr.kev_class, KC_EVENT_CLASS);
    EXPECT_EQ(raw->hdr.kev_subclass, KC_EVENT_SUBCLASS);
    const proto::ByteView data(reinterpret_cast<const std::uint8_t*>(raw->data.data()), raw->data.size());
    auto ev = proto::decode_event(raw->hdr.event_code, data);
    EXPECT_TRUE(ev) << "undecodable event code " << raw->hdr.event_code;
    return ev;
}

// The next kext event, expected to be `code` with sequence number `seq`.
std::optional<proto::Event> expect_kext_event(SystemSocket& s, std::uint32_t vendor, std::uint32_t code,
                                              std::uint32_t seq)
{
    auto e = next_kext_event(s, vendor);
    EXPECT_TRUE(e) << "no event " << code << " (seq " << seq << ")";
    if (e) {
        EXPECT_EQ(e->code, code);
        EXPECT_EQ(e->hdr.seq, seq);
    }
    return e;
}

class KextsimContract : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }

    std::unique_ptr<SystemSocket> admin()
    {
        int err = 0;
        auto s = open_control(host_.root(), kReferenceBundleId, err);
        EXPECT_TRUE(s) << "admin connect: " << std::strerror(err);
        return s;
    }
    std::unique_ptr<SystemSocket> query()
    {
        int err = 0;
        auto s = open_control(host_.root(), kReferenceQueryControl, err);
        EXPECT_TRUE(s) << "query connect: " << std::strerror(err);
        return s;
    }
    // Commits label=`label` in its own transaction and disconnects.
    void commit_label(const std::string& label)
    {
        auto a = admin();
        ASSERT_TRUE(a);
        ASSERT_EQ(begin_txn(*a, state_of(*a).generation), 0);
        ASSERT_EQ(set_value(*a, kLabel, Value::of_string(label)), 0);
        ASSERT_EQ(commit_txn(*a), 0);
    }
    Result unload() { return host_.kextsim({"unload", kReferenceBundleId}); }
    Result load() { return host_.kextsim({"load", kext_bundle()}); }

    KextsimHost host_;
};

TEST_F(KextsimContract, CtlInfoLooksUpControlsByName)
{
    auto s = control_socket(host_.root());
    ASSERT_TRUE(s);
    std::uint32_t id = 12345;
    EXPECT_EQ(control_id(*s, "org.kextconf.nosuch", id), ENOENT);
    EXPECT_EQ(control_id(*s, "", id), EINVAL);

    std::uint32_t admin_id = 0, query_id = 0;
    ASSERT_EQ(control_id(*s, kReferenceBundleId, admin_id), 0);
    ASSERT_EQ(control_id(*s, kReferenceQueryControl, query_id), 0);
    EXPECT_GE(admin_id, 1u);
    EXPECT_GE(query_id, 1u);
    EXPECT_NE(admin_id, query_id);

    int count = -1;
    ASSERT_EQ(err_of_call(s->ioctl(kextsim::kCtlIocGCount, &count)), 0);
    EXPECT_EQ(count, 2);
}

TEST_F(KextsimContract, AdminControlIsForRootOnly)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root (to connect as root, and to become nobody)";
    {
        auto a = admin();
        ASSERT_TRUE(a);
        const auto h = hello(*a);
        ASSERT_TRUE(h);
        EXPECT_EQ(h->proto_version, KC_PROTO_VERSION);
    }
    const std::string root = host_.root();
    const Result r = run_in_child(
        [&] {
            const auto fail = [](int code, const std::string& what, int e) {
                std::fprintf(stderr, "as nobody: %s: %s\n", what.c_str(), std::strerror(e));
                return code;
            };
            auto s = control_socket(root);
            if (!s)
                return fail(10, "socket", errno);
            std::uint32_t id = 0;
            if (int e = control_id(*s, kReferenceBundleId, id); e != 0)
                return fail(11, "CTLIOCGINFO admin", e);
            if (int e = connect_control_id(*s, id); e != EPERM)
                return fail(12, "admin connect (want EPERM)", e);
            int err = 0;
            auto q = open_control(root, kReferenceQueryControl, err);
            if (!q)
                return fail(13, "query connect", err);
            const auto h = hello(*q);
            if (!h || h->proto_version != KC_PROTO_VERSION || h->min_proto_version != KC_PROTO_MIN_VERSION ||
                proto::field_string(h->bundle_id) != kReferenceBundleId || h->tunable_count != kDefaultValues.size())
                return fail(14, "hello reply", 0);
            if (state_of_quiet(*q) != 1)
                return fail(15, "state generation", 0);
            if (int e = begin_txn(*q, 1); e != EPERM)
                return fail(16, "TXN_BEGIN on query (want EPERM)", e);
            return 0;
        },
        /*as_nobody=*/true);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(KextsimContract, QueryControlRefusesWrites)
{
    auto q = query();
    ASSERT_TRUE(q);
    const kc_state before = state_of(*q);

    EXPECT_EQ(begin_txn(*q, before.generation), EPERM);
    kc_error_detail d = last_error(*q);
    EXPECT_EQ(d.error, kDarwinEPERM);
    EXPECT_EQ(d.reason, static_cast<std::uint32_t>(KC_R_NOT_PERMITTED));
    EXPECT_EQ(d.opt, static_cast<std::uint32_t>(KC_OPT_TXN_BEGIN));

    EXPECT_EQ(commit_txn(*q), EPERM);
    d = last_error(*q);
    EXPECT_EQ(d.reason, static_cast<std::uint32_t>(KC_R_NOT_PERMITTED));
    EXPECT_EQ(d.opt, static_cast<std::uint32_t>(KC_OPT_TXN_COMMIT));

    EXPECT_EQ(set_value(*q, kLabel, Value::of_string("sneaky")), EPERM);
    EXPECT_EQ(set_opt(*q, KC_OPT_TXN_ABORT, {}), EPERM);

    const kc_state after = state_of(*q);
    EXPECT_EQ(after.generation, before.generation);
    EXPECT_EQ(after.config_hash, before.config_hash);
    EXPECT_EQ(value_of(*q, kLabel), Value::of_string("default"));
}

TEST_F(KextsimContract, OptionLevelAndNumberAreChecked)
{
    auto a = admin();
    ASSERT_TRUE(a);
    Bytes buf(sizeof(kc_state));
    for (int level : {0, 1, 3}) {
        SCOPED_TRACE(level);
        buf.assign(sizeof(kc_state), 0);
        EXPECT_EQ(get_opt(*a, KC_OPT_STATE, buf, level), EINVAL);
        EXPECT_EQ(set_opt(*a, KC_OPT_TXN_ABORT, {}, level), EINVAL);
    }
    for (int opt : {0, 42, static_cast<int>(KC_OPT__COUNT)}) {
        SCOPED_TRACE(opt);
        buf.assign(64, 0);
        EXPECT_EQ(get_opt(*a, opt, buf), EOPNOTSUPP) << "Darwin 102 translated to the host's EOPNOTSUPP";
        kc_error_detail d = last_error(*a);
        EXPECT_EQ(d.error, kDarwinEOPNOTSUPP);
        EXPECT_EQ(d.reason, static_cast<std::uint32_t>(KC_R_UNKNOWN_OPTION));
        EXPECT_EQ(d.opt, static_cast<std::uint32_t>(opt));
        EXPECT_EQ(set_opt(*a, opt, Bytes(8, 0)), EOPNOTSUPP);
        d = last_error(*a);
        EXPECT_EQ(d.reason, static_cast<std::uint32_t>(KC_R_UNKNOWN_OPTION));
    }
    // Getters are option numbers too: no write through them on setsockopt.
    EXPECT_EQ(set_opt(*a, KC_OPT_STATE, Bytes(8, 0)), EOPNOTSUPP);
    EXPECT_EQ(state_of(*a).generation, 1u);
}

// Level SOL_SOCKET belongs to the generic socket layer, not the kext:
// SO_RCVBUF reads and changes the receive space ctl_enqueuedata sees.
TEST_F(KextsimContract, SolSocketIsTheSocketLayers)
{
    auto a = admin();
    ASSERT_TRUE(a);
    std::int32_t v = 0;
    std::size_t len = sizeof v;
    ASSERT_EQ(a->getsockopt(kextsim::kSolSocket, kextsim::kSoRcvbuf, &v, &len), 0) << std::strerror(errno);
    EXPECT_EQ(len, sizeof v);
    EXPECT_EQ(v, 8192) << "CTL_RECVSIZE default";
    v = 1024;
    ASSERT_EQ(a->setsockopt(kextsim::kSolSocket, kextsim::kSoRcvbuf, &v, sizeof v), 0) << std::strerror(errno);
    v = 0;
    len = sizeof v;
    ASSERT_EQ(a->getsockopt(kextsim::kSolSocket, kextsim::kSoRcvbuf, &v, &len), 0);
    EXPECT_EQ(v, 1024);
    EXPECT_EQ(a->setsockopt(kextsim::kSolSocket, 0x7777, &v, sizeof v), -1);
    EXPECT_EQ(errno, ENOPROTOOPT);
    EXPECT_EQ(a->setsockopt(kextsim::kSolSocket, kextsim::kSoRcvbuf, &v, 2), -1);
    EXPECT_EQ(errno, EINVAL);
}
TEST_F(KextsimContract, BadTxnSetInputIsRefusedWithAReason)
{
    auto a = admin();
    ASSERT_TRUE(a);
    const kc_state before = state_of(*a);
    ASSERT_EQ(before.generation, 1u);
    ASSERT_EQ(all_values(*a), kDefaultValues);
    ASSERT_EQ(begin_txn(*a, before.generation), 0);

    const kc_value_hdr good_uint{kMaxClients, KC_TYPE_UINT64, 0, 1, 1, 8};
    const Bytes good = raw_set(good_uint, scalar_bytes(100));
    kc_value_hdr disagree = good_uint;
    disagree.length = 16;
    const auto str_hdr = [](std::uint32_t n) { return kc_value_hdr{kLabel, KC_TYPE_STRING, 0, n, n, n}; };
    Bytes padded = good;
    padded.resize(good.size() + 4);

    struct Case {
        const char* what;
        Bytes data;
        int err;
        std::uint32_t darwin_err;
        kc_reason reason;
        std::uint32_t index;
    };
    const Case cases[] = {
        {"empty buffer", {}, EINVAL, kDarwinEINVAL, KC_R_BAD_LENGTH, kNoIndex},
        {"truncated header", Bytes(good.begin(), good.begin() + 10), EINVAL, kDarwinEINVAL, KC_R_BAD_LENGTH, kNoIndex},
        {"length field larger than the buffer", raw_set(disagree, scalar_bytes(100)), EINVAL, kDarwinEINVAL,
         KC_R_BAD_LENGTH, kMaxClients},
        {"buffer longer than the length field", padded, EINVAL, kDarwinEINVAL, KC_R_BAD_LENGTH, kMaxClients},
        {"over KC_OPT_MAX_LEN", Bytes(KC_OPT_MAX_LEN + 1, 0), EMSGSIZE, kDarwinEMSGSIZE, KC_R_BAD_LENGTH, kNoIndex},
        {"index 999", raw_set({999, KC_TYPE_UINT64, 0, 1, 1, 8}, scalar_bytes(1)), ENOENT, kDarwinENOENT,
         KC_R_UNKNOWN_TUNABLE, 999},
        {"wrong type", raw_set({kMaxClients, KC_TYPE_INT64, 0, 1, 1, 8}, scalar_bytes(100)), EINVAL, kDarwinEINVAL,
         KC_R_TYPE_MISMATCH, kMaxClients},
        {"max_clients 0", raw_set(good_uint, scalar_bytes(0)), EINVAL, kDarwinEINVAL, KC_R_OUT_OF_RANGE, kMaxClients},
        {"max_clients 5000", raw_set(good_uint, scalar_bytes(5000)), EINVAL, kDarwinEINVAL, KC_R_OUT_OF_RANGE,
         kMaxClients},
        {"sample_interval_ms -1", raw_set({kSampleInterval, KC_TYPE_INT64, 0, 1, 1, 8}, scalar_bytes(~0ull)), EINVAL,
         kDarwinEINVAL, KC_R_OUT_OF_RANGE, kSampleInterval},
        {"enabled 2", raw_set({kEnabled, KC_TYPE_BOOL, 0, 1, 1, 8}, scalar_bytes(2)), EINVAL, kDarwinEINVAL,
         KC_R_OUT_OF_RANGE, kEnabled},
        {"log_level 4", raw_set({kLogLevel, KC_TYPE_ENUM, 0, 1, 1, 8}, scalar_bytes(4)), EINVAL, kDarwinEINVAL,
         KC_R_BAD_ENUM, kLogLevel},
        {"label of 64 bytes", raw_set(str_hdr(64), std::string(64, 'x')), EINVAL, kDarwinEINVAL, KC_R_TOO_LONG, kLabel},
        {"label with an embedded NUL", raw_set(str_hdr(5), std::string("ab\0cd", 5)), EINVAL, kDarwinEINVAL,
         KC_R_BAD_STRING, kLabel},
        {"string count disagrees with length", raw_set({kLabel, KC_TYPE_STRING, 0, 2, 3, 3}, "abc"), EINVAL,
         kDarwinEINVAL, KC_R_BAD_LENGTH, kLabel},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        EXPECT_EQ(set_opt(*a, KC_OPT_TXN_SET, c.data), c.err);
        const kc_error_detail d = last_error(*a);
        EXPECT_EQ(d.error, c.darwin_err);
        EXPECT_EQ(d.reason, static_cast<std::uint32_t>(c.reason)) << proto::reason_text(d.reason);
        EXPECT_EQ(d.opt, static_cast<std::uint32_t>(KC_OPT_TXN_SET));
        EXPECT_EQ(d.index, c.index);
    }
    // The limits themselves are accepted: 63 bytes and the range's ends.
    EXPECT_EQ(set_opt(*a, KC_OPT_TXN_SET, raw_set(str_hdr(63), std::string(63, 'y'))), 0);
    EXPECT_EQ(set_value(*a, kMaxClients, Value::of_uint(1024)), 0);

    ASSERT_EQ(set_opt(*a, KC_OPT_TXN_ABORT, {}), 0);
    EXPECT_EQ(commit_txn(*a), EINVAL) << "the transaction is gone after abort";
    EXPECT_EQ(last_error(*a).reason, static_cast<std::uint32_t>(KC_R_NO_TRANSACTION));

    const kc_state after = state_of(*a);
    EXPECT_EQ(after.generation, before.generation);
    EXPECT_EQ(after.config_hash, before.config_hash);
    EXPECT_EQ(after.event_seq, before.event_seq);
    EXPECT_EQ(all_values(*a), kDefaultValues);
}

TEST_F(KextsimContract, RejectedSetDoesNotPoisonTheTransaction)
{
    auto a = admin();
    ASSERT_TRUE(a);
    ASSERT_EQ(begin_txn(*a, 1), 0);
    ASSERT_EQ(set_value(*a, kMaxClients, Value::of_uint(100)), 0);
    EXPECT_EQ(set_value(*a, kMaxClients, Value::of_uint(5000)), EINVAL);
    kc_commit_reply r{};
    ASSERT_EQ(commit_txn(*a, &r), 0);
    EXPECT_EQ(r.generation, 2u);
    EXPECT_EQ(r.changed, 1u);
    EXPECT_EQ(value_of(*a, kMaxClients), Value::of_uint(100));
    EXPECT_EQ(state_of(*a).config_hash, r.config_hash);
}

TEST_F(KextsimContract, StaleBeginIsRefused)
{
    auto a = admin();
    ASSERT_TRUE(a);
    const std::uint64_t gen = state_of(*a).generation;
    for (std::uint64_t stale : {gen - 1, gen + 1, gen + 1000}) {
        SCOPED_TRACE(stale);
        EXPECT_EQ(begin_txn(*a, stale), EAGAIN);
        const kc_error_detail d = last_error(*a);
        EXPECT_EQ(d.error, kDarwinEAGAIN);
        EXPECT_EQ(d.reason, static_cast<std::uint32_t>(KC_R_STALE_GENERATION));
    }
    EXPECT_EQ(set_opt(*a, KC_OPT_TXN_BEGIN, Bytes(4, 0)), EINVAL) << "short kc_txn_begin";
    // A current begin works; a second one on the same connection does not.
    ASSERT_EQ(begin_txn(*a, gen), 0);
    EXPECT_EQ(begin_txn(*a, gen), EBUSY);
    EXPECT_EQ(last_error(*a).error, kDarwinEBUSY);
    EXPECT_EQ(last_error(*a).reason, static_cast<std::uint32_t>(KC_R_TRANSACTION_OPEN));
    EXPECT_EQ(set_opt(*a, KC_OPT_TXN_ABORT, {}), 0);
    EXPECT_EQ(state_of(*a).generation, gen);
}

TEST_F(KextsimContract, SecondWriterToCommitLoses)
{
    auto a = admin();
    auto b = admin();
    ASSERT_TRUE(a && b);
    const kc_state start = state_of(*a);
    const std::uint64_t n = start.generation;
    ASSERT_EQ(begin_txn(*a, n), 0);
    ASSERT_EQ(begin_txn(*b, n), 0);
    ASSERT_EQ(set_value(*a, kLabel, Value::of_string("from-a")), 0);
    ASSERT_EQ(set_value(*a, kMaxClients, Value::of_uint(7)), 0);
    ASSERT_EQ(set_value(*b, kLabel, Value::of_string("from-b")), 0);

    kc_commit_reply rb{};
    ASSERT_EQ(commit_txn(*b, &rb), 0);
    EXPECT_EQ(rb.generation, n + 1);
    EXPECT_EQ(rb.changed, 1u);

    EXPECT_EQ(commit_txn(*a), EAGAIN);
    const kc_error_detail d = last_error(*a);
    EXPECT_EQ(d.error, kDarwinEAGAIN);
    EXPECT_EQ(d.reason, static_cast<std::uint32_t>(KC_R_STALE_GENERATION));
    EXPECT_EQ(commit_txn(*a), EINVAL) << "a failed commit ends the transaction";

    const kc_state end = state_of(*b);
    EXPECT_EQ(end.generation, n + 1);
    EXPECT_EQ(end.config_hash, rb.config_hash);
    EXPECT_EQ(value_of(*b, kLabel), Value::of_string("from-b"));
    EXPECT_EQ(value_of(*b, kMaxClients), Value::of_uint(64)) << "nothing of A's transaction applied";
}

TEST_F(KextsimContract, DisconnectMidTransactionDiscardsIt)
{
    const kc_state before = [&] {
        auto q = query();
        return q ? state_of(*q) : kc_state{};
    }();
    {
        auto a = admin();
        ASSERT_TRUE(a);
        ASSERT_EQ(begin_txn(*a, before.generation), 0);
        ASSERT_EQ(set_value(*a, kLabel, Value::of_string("half-done")), 0);
        ASSERT_EQ(set_value(*a, kMaxClients, Value::of_uint(9)), 0);
    } // closed before commit
    ASSERT_TRUE(host_.wait_no_clients());

    auto q = query();
    ASSERT_TRUE(q);
    const kc_state after = state_of(*q);
    EXPECT_EQ(after.generation, before.generation);
    EXPECT_EQ(after.config_hash, before.config_hash);
    // Only client events since: the first query's disconnect, the admin's
    // connect and disconnect, this query's connect; nothing was applied.
    EXPECT_EQ(after.event_seq, before.event_seq + 4);
    kc_counters counters{};
    std::size_t len = sizeof counters;
    ASSERT_EQ(q->getsockopt(kextsim::kSysprotoControl, KC_OPT_COUNTERS, &counters, &len), 0) << std::strerror(errno);
    EXPECT_EQ(counters.aborts, 1u) << "the transaction discarded on disconnect";
    EXPECT_EQ(counters.commits, 0u);
    EXPECT_EQ(all_values(*q), kDefaultValues);
    // And the next writer is not blocked by the abandoned transaction.
    commit_label("next");
    EXPECT_EQ(state_of(*q).generation, before.generation + 1);
}

TEST_F(KextsimContract, UnloadRefusedWhileAClientIsConnected)
{
    auto q = query();
    ASSERT_TRUE(q);
    const Result refused = unload();
    EXPECT_EQ(refused.exit_code, 1) << refused.describe();
    EXPECT_TRUE(host_.is_loaded());
    EXPECT_TRUE(hello(*q)) << "the kext keeps serving after refusing to stop";

    q.reset();
    ASSERT_TRUE(host_.wait_no_clients());
    const Result ok = unload();
    EXPECT_EQ(ok.exit_code, 0) << ok.describe();
    EXPECT_EQ(ok.out.find("problems"), std::string::npos) << "leaks or stray controls after stop: " << ok.out;
    EXPECT_FALSE(host_.is_loaded());

    auto s = control_socket(host_.root());
    ASSERT_TRUE(s);
    std::uint32_t id = 0;
    EXPECT_EQ(control_id(*s, kReferenceQueryControl, id), ENOENT);
    EXPECT_EQ(control_id(*s, kReferenceBundleId, id), ENOENT);
}

TEST_F(KextsimContract, UnfilteredEventSocketReceivesNothing)
{
    auto none = event_listener(host_.root());
    auto witness = event_listener(host_.root());
    ASSERT_TRUE(none && witness);
    std::uint32_t vendor = 0;
    ASSERT_EQ(vendor_code(*witness, kReferenceBundleId, vendor), 0);
    ASSERT_EQ(set_event_filter(*witness, vendor, 0, 0), 0);

    commit_label("event");
    ASSERT_TRUE(host_.wait_no_clients());
    ASSERT_EQ(unload().exit_code, 0);
    ASSERT_EQ(load().exit_code, 0);
    // connected, changed, applied, disconnected, stopping, started: once the
    // witness has them all, every listener has been offered them (one
    // delivery pass per event).
    for (int code : {KC_EV_CLIENT_CONNECTED, KC_EV_TUNABLE_CHANGED, KC_EV_APPLIED, KC_EV_CLIENT_DISCONNECTED,
                     KC_EV_STOPPING, KC_EV_STARTED}) {
        auto e = next_kext_event(*witness, vendor);
        ASSERT_TRUE(e);
        EXPECT_EQ(e->code, static_cast<std::uint32_t>(code));
    }
    std::uint8_t buf[256];
    EXPECT_EQ(none->recv(buf, sizeof buf, MSG_DONTWAIT), -1);
    EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << std::strerror(errno);
}

class KextsimEvents : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }
    Result unload() { return host_.kextsim({"unload", kReferenceBundleId}); }
    Result load() { return host_.kextsim({"load", kext_bundle()}); }

    KextsimHost host_{/*load_reference=*/false};
};

TEST_F(KextsimEvents, VendorCodeUnknownUntilTheKextLoads)
{
    auto ev = event_listener(host_.root());
    ASSERT_TRUE(ev);
    std::uint32_t code = 0;
    EXPECT_EQ(vendor_code(*ev, kReferenceBundleId, code), ENOENT);
    const Result l = load();
    ASSERT_EQ(l.exit_code, 0) << l.describe();
    ASSERT_EQ(vendor_code(*ev, kReferenceBundleId, code), 0);
    EXPECT_NE(code, 0u);
    EXPECT_NE(code, kextsim::kKevVendorApple);
    // Stable for the life of the host, across unload and load.
    ASSERT_TRUE(host_.wait_no_clients());
    ASSERT_EQ(unload().exit_code, 0);
    std::uint32_t again = 0;
    EXPECT_EQ(vendor_code(*ev, kReferenceBundleId, again), 0);
    EXPECT_EQ(again, code);
}

TEST_F(KextsimEvents, LifecycleEventsCarryPerLoadSequenceNumbers)
{
    // The vendor code exists once the kext has started: load once to learn
    // it, then watch a whole load from the start.
    ASSERT_EQ(load().exit_code, 0);
    auto ev = event_listener(host_.root());
    ASSERT_TRUE(ev);
    std::uint32_t vendor = 0;
    ASSERT_EQ(vendor_code(*ev, kReferenceBundleId, vendor), 0);
    ASSERT_TRUE(host_.wait_no_clients());
    ASSERT_EQ(unload().exit_code, 0);
    ASSERT_EQ(set_event_filter(*ev, vendor, KC_EVENT_CLASS, KC_EVENT_SUBCLASS), 0);

    std::uint32_t previous_load = 0;
    for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE(round);
        const Result l = load();
        ASSERT_EQ(l.exit_code, 0) << l.describe();
        auto started = expect_kext_event(*ev, vendor, KC_EV_STARTED, 1);
        ASSERT_TRUE(started);
        EXPECT_EQ(started->generation, 1u);
        EXPECT_NE(started->hdr.load_id, previous_load);
        previous_load = started->hdr.load_id;

        kc_commit_reply reply{};
        {
            int err = 0;
            auto a = open_control(host_.root(), kReferenceBundleId, err);
            ASSERT_TRUE(a) << std::strerror(err);
            const auto h = hello(*a);
            ASSERT_TRUE(h);
            EXPECT_EQ(started->kext_version, proto::field_string(h->kext_version));
            ASSERT_EQ(begin_txn(*a, 1), 0);
            ASSERT_EQ(set_value(*a, kLabel, Value::of_string("round " + std::to_string(round))), 0);
            ASSERT_EQ(commit_txn(*a, &reply), 0);
            const kc_state st = state_of(*a);
            EXPECT_EQ(st.load_id, started->hdr.load_id);
            EXPECT_EQ(st.event_seq, 4u) << "started, connected, label changed, applied";
        }
        auto connected = expect_kext_event(*ev, vendor, KC_EV_CLIENT_CONNECTED, 2);
        ASSERT_TRUE(connected);
        EXPECT_EQ(connected->client.privileged, 1u);
        EXPECT_EQ(connected->client.clients, 1u);
        EXPECT_EQ(connected->client.pid, static_cast<std::int32_t>(::getpid())) << "proc_selfpid of the client";
        EXPECT_EQ(connected->client.uid, ::geteuid());
        auto changed = expect_kext_event(*ev, vendor, KC_EV_TUNABLE_CHANGED, 3);
        ASSERT_TRUE(changed);
        EXPECT_EQ(changed->index, kLabel);
        EXPECT_EQ(changed->name, "label");
        EXPECT_EQ(changed->generation, 2u);
        auto applied = expect_kext_event(*ev, vendor, KC_EV_APPLIED, 4);
        ASSERT_TRUE(applied);
        EXPECT_EQ(applied->hdr.load_id, started->hdr.load_id);
        EXPECT_EQ(applied->generation, 2u);
        EXPECT_EQ(applied->config_hash, reply.config_hash);
        EXPECT_EQ(applied->changed, 1u);

        auto disconnected = expect_kext_event(*ev, vendor, KC_EV_CLIENT_DISCONNECTED, 5);
        ASSERT_TRUE(disconnected);
        EXPECT_EQ(disconnected->client.unit, connected->client.unit);
        EXPECT_EQ(disconnected->client.clients, 0u);

        ASSERT_TRUE(host_.wait_no_clients());
        const Result u = unload();
        ASSERT_EQ(u.exit_code, 0) << u.describe();
        auto stopping = expect_kext_event(*ev, vendor, KC_EV_STOPPING, 6);
        ASSERT_TRUE(stopping);
        EXPECT_EQ(stopping->hdr.load_id, started->hdr.load_id);
        EXPECT_EQ(stopping->generation, 2u);
    }
    EXPECT_FALSE(next_kern_event(*ev, 0ms)) << "no other events";
}

TEST_F(KextsimEvents, ControlRegistrationEvents)
{
    auto ev = event_listener(host_.root());
    ASSERT_TRUE(ev);
    ASSERT_EQ(set_event_filter(*ev, kextsim::kKevVendorApple, kextsim::kKevSystemClass, kextsim::kKevCtlSubclass), 0);

    ASSERT_EQ(load().exit_code, 0);
    auto s = control_socket(host_.root());
    ASSERT_TRUE(s);
    std::uint32_t admin_id = 0, query_id = 0;
    ASSERT_EQ(control_id(*s, kReferenceBundleId, admin_id), 0);
    ASSERT_EQ(control_id(*s, kReferenceQueryControl, query_id), 0);

    const auto expect_ctl_events = [&](std::uint32_t code) {
        std::vector<std::uint32_t> ids;
        std::uint32_t last_event_id = 0;
        for (int i = 0; i < 2; ++i) {
            auto e = next_kern_event(*ev, 5s);
            ASSERT_TRUE(e) << "event " << i;
            EXPECT_EQ(e->hdr.vendor_code, kextsim::kKevVendorApple);
            EXPECT_EQ(e->hdr.kev_class, kextsim::kKevSystemClass);
            EXPECT_EQ(e->hdr.kev_subclass, kextsim::kKevCtlSubclass);
            EXPECT_EQ(e->hdr.event_code, code);
            EXPECT_GT(e->hdr.id, last_event_id);
            last_event_id = e->hdr.id;
            ASSERT_GE(e->data.size(), 8u); // struct ctl_event_data {ctl_id, ctl_unit}
            std::uint32_t id = 0;
            std::memcpy(&id, e->data.data(), sizeof id);
            ids.push_back(id);
        }
        std::sort(ids.begin(), ids.end());
        std::vector<std::uint32_t> want{admin_id, query_id};
        std::sort(want.begin(), want.end());
        EXPECT_EQ(ids, want);
    };
    expect_ctl_events(kextsim::kKevCtlRegistered);
    if (HasFatalFailure())
        return;
    ASSERT_TRUE(host_.wait_no_clients());
    ASSERT_EQ(unload().exit_code, 0);
    expect_ctl_events(kextsim::kKevCtlDeregistered);
    if (HasFatalFailure())
        return;
    EXPECT_FALSE(next_kern_event(*ev, 0ms)) << "the kext's own events do not match {1, 3, 2}";
}

} // namespace
