// Contract versions 1 and 2 together (proto.h): a version 2 kextconfd and
// kextconfctl against a version 1 kext (tests/kexts/v1, the kernel library
// built as version 1), a version 1 client against a version 2 kext (the
// reference kext, driven with version 1's requests byte for byte), and the
// schema cache a version 2 kext's schema hash makes possible. Real kextsim
// hosts, real daemon and CLI, real sockets.
#include "daemon_helpers.hpp"
#include "process.hpp"
#include <kextconf/kext_client.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

namespace {

using namespace kctest;
using kextconf::ControlSocket;
using kextconf::KextClient;
using kextconf::proto::Bytes;
using kextconf::proto::Value;
using nlohmann::json;
namespace proto = kextconf::proto;

constexpr const char* kV1Id = "org.kextconf.test.v1";

std::unique_ptr<ControlSocket> raw_admin(const std::string& bundle)
{
    std::error_code ec;
    auto sock = ControlSocket::connect(bundle, ec);
    EXPECT_TRUE(sock) << ec.message();
    return sock;
}

kc_error_detail last_error(ControlSocket& sock)
{
    Bytes out;
    EXPECT_FALSE(sock.getopt(KC_OPT_LAST_ERROR, {}, sizeof(kc_error_detail), out));
    return proto::decode<kc_error_detail>(out).value_or(kc_error_detail{});
}

std::string slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class V1Kext : public ::testing::Test {
protected:
    V1Kext() : host_(KEXTCONF_TEST_V1_KEXT_BUNDLE, kV1Id) {}
    void SetUp() override { ASSERT_TRUE(host_.ready()); }

    KextsimHost host_;
};

// The version 2 client library meets a version 1 kext: it speaks version 1,
// describes one tunable per option and sets one value per option, and the
// kext refuses version 2's forms exactly as version 1 did.
TEST_F(V1Kext, ClientFallsBackToVersion1)
{
    const ScopedEnv root("KEXTSIM_ROOT", host_.root());
    kextconf::KextError err;
    auto k = KextClient::connect(kV1Id, KextClient::Access::Admin, err);
    ASSERT_TRUE(k) << err.message;
    EXPECT_EQ(k->hello().proto_version, 1u);
    EXPECT_EQ(k->proto_version(), 1u);
    EXPECT_FALSE(k->batched());
    EXPECT_EQ(k->hello().capabilities & KC_CAP_BATCH, 0u);
    std::vector<proto::TunableDesc> schema;
    ASSERT_FALSE(k->describe(schema));
    ASSERT_EQ(schema.size(), 5u);
    EXPECT_EQ(schema[4].name, "ports");
    kc_state st{};
    ASSERT_FALSE(k->state(st));
    kextconf::ApplyResult r;
    const auto e = k->apply(
        st.generation, {{1, Value::of_uint(100)}, {3, Value::of_string("fallback")}, {4, Value::of_ints({22, 80})}}, r);
    ASSERT_FALSE(e) << e.message;
    EXPECT_EQ(r.changed, 3u);

    auto sock = raw_admin(kV1Id);
    ASSERT_TRUE(sock);
    Bytes out;
    EXPECT_EQ(sock->getopt(KC_OPT_DESCRIBE_ALL, proto::encode(kc_describe_req{0, 0}), KC_OPT_MAX_LEN, out),
              std::errc::operation_not_supported);
    EXPECT_EQ(last_error(*sock).reason, static_cast<std::uint32_t>(KC_R_UNKNOWN_OPTION));
    ASSERT_FALSE(sock->setopt(KC_OPT_TXN_BEGIN, proto::encode(kc_txn_begin{r.generation})));
    auto two = proto::pack_set_options(
        {proto::encode_set_chunks(1, Value::of_uint(7))[0], proto::encode_set_chunks(0, Value::of_bool(false))[0]});
    ASSERT_EQ(two.size(), 1u);
    EXPECT_EQ(sock->setopt(KC_OPT_TXN_SET, two[0]), std::errc::invalid_argument);
    EXPECT_EQ(last_error(*sock).reason, static_cast<std::uint32_t>(KC_R_BAD_LENGTH));
}

// kextconfd (version 2) applies to the version 1 kext, verifies, and saves
// no schema cache (the kext has no schema hash); kextconfctl reads it back.
TEST_F(V1Kext, DaemonAppliesAndCtlReads)
{
    const std::string config = host_.dir().file("config.json");
    const std::string state = host_.dir().file("state");
    write_file(config, std::string("{ \"kext\": \"") + kV1Id +
                           "\", \"tunables\": { \"max_clients\": 300, \"mode\": \"safe\", \"ports\": [443] } }\n");
    Process d({bin_path("kextconfd"), "--config", config, "--state-dir", state}, SpawnOptions{host_.env(), false});
    ASSERT_TRUE(d.wait_for_err("applied " + config + " to " + kV1Id + ": generation 2", 10s)) << d.describe();
    const Result got = host_.ctl({"--kext", kV1Id, "get", "max_clients"});
    EXPECT_EQ(got.exit_code, 0) << got.describe();
    EXPECT_EQ(got.out, "300\n");
    const Result st = host_.ctl({"--kext", kV1Id, "--json", "status"});
    ASSERT_EQ(st.exit_code, 0) << st.describe();
    EXPECT_EQ(json::parse(st.out).at("tunables").at("ports"), json({443}));
    stop_daemon(d);
    EXPECT_NE(::access((state + "/schema.json").c_str(), F_OK), -1) << "the JSON schema is saved for every kext";
    EXPECT_EQ(::access((state + "/schema." + kV1Id + ".cache").c_str(), F_OK), -1) << "no hash, no cache";
}

class V2Kext : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }
    KextsimHost host_;
};

// A version 1 client (its requests and buffer sizes, byte for byte) gets
// version 1's answers from a version 2 kext.
TEST_F(V2Kext, Version1ClientIsAnsweredInVersion1)
{
    const ScopedEnv root("KEXTSIM_ROOT", host_.root());
    auto sock = raw_admin(kReferenceBundleId);
    ASSERT_TRUE(sock);
    Bytes out;
    ASSERT_FALSE(sock->getopt(KC_OPT_HELLO, proto::encode(kc_hello_req{1, 0}), sizeof(kc_hello_reply), out));
    ASSERT_EQ(out.size(), sizeof(kc_hello_reply));
    const auto hello = proto::decode<kc_hello_reply>(out);
    EXPECT_EQ(hello->proto_version, KC_PROTO_VERSION);
    EXPECT_EQ(hello->min_proto_version, 1u);
    EXPECT_EQ(hello->capabilities & KC_CAP_BATCH, 0u) << "version 2's capability only to a version 2 client";
    // Even with room for more, a version 1 hello gets version 1's reply.
    ASSERT_FALSE(sock->getopt(KC_OPT_HELLO, proto::encode(kc_hello_req{1, 0}), sizeof(kc_hello_reply_v2), out));
    EXPECT_EQ(out.size(), sizeof(kc_hello_reply));

    ASSERT_FALSE(sock->getopt(KC_OPT_DESCRIBE, proto::encode(kc_describe_req{1, 0}), sizeof(kc_tunable_desc), out));
    const auto desc = proto::decode<kc_tunable_desc>(out);
    ASSERT_TRUE(desc);
    EXPECT_STREQ(desc->name, "max_clients");

    kc_state st{};
    ASSERT_FALSE(sock->getopt(KC_OPT_STATE, {}, sizeof st, out));
    st = *proto::decode<kc_state>(out);
    ASSERT_FALSE(sock->setopt(KC_OPT_TXN_BEGIN, proto::encode(kc_txn_begin{st.generation})));
    ASSERT_FALSE(sock->setopt(KC_OPT_TXN_SET, proto::encode_set_chunks(1, Value::of_uint(77))[0]));
    ASSERT_FALSE(sock->getopt(KC_OPT_TXN_COMMIT, {}, sizeof(kc_commit_reply), out));
    EXPECT_EQ(proto::decode<kc_commit_reply>(out)->generation, st.generation + 1);
    const Result got = host_.ctl({"get", "max_clients"});
    EXPECT_EQ(got.out, "77\n") << got.describe();
}

// A version 2 client: the schema hash in the hello is the hash of what the
// batched describe returns, on both controls (hidden tunables left out of
// the query control's); several values per TXN_SET commit as one.
TEST_F(V2Kext, BatchedDescribeMatchesSchemaHashAndSetsBatch)
{
    const ScopedEnv root("KEXTSIM_ROOT", host_.root());
    for (auto access : {KextClient::Access::Admin, KextClient::Access::Query}) {
        kextconf::KextError err;
        auto k = KextClient::connect(kReferenceBundleId, access, err);
        ASSERT_TRUE(k) << err.message;
        EXPECT_EQ(k->proto_version(), 2u);
        ASSERT_TRUE(k->batched());
        std::vector<proto::TunableDesc> schema;
        std::vector<kc_tunable_desc> wire;
        ASSERT_FALSE(k->describe(schema, &wire));
        ASSERT_EQ(schema.size(), wire.size());
        EXPECT_EQ(proto::schema_hash(wire), *k->schema_hash());
        // The batched answer is what version 1's describe gives, tunable by tunable.
        auto sock = raw_admin(access == KextClient::Access::Admin ? std::string(kReferenceBundleId)
                                                                  : std::string(kReferenceBundleId) + KC_QUERY_SUFFIX);
        for (const auto& w : wire) {
            Bytes out;
            ASSERT_FALSE(sock->getopt(KC_OPT_DESCRIBE, proto::encode(kc_describe_req{w.index, 0}),
                                      sizeof(kc_tunable_desc), out));
            const auto one = proto::decode<kc_tunable_desc>(out);
            ASSERT_TRUE(one);
            EXPECT_EQ(proto::schema_hash({*one}), proto::schema_hash({w})) << w.name;
        }
    }
    // A buffer too small for one record is refused, not answered with none.
    auto sock = raw_admin(kReferenceBundleId);
    Bytes out;
    EXPECT_EQ(sock->getopt(KC_OPT_DESCRIBE_ALL, proto::encode(kc_describe_req{0, 0}), 40, out),
              std::errc::result_out_of_range);
    EXPECT_EQ(last_error(*sock).reason, static_cast<std::uint32_t>(KC_R_BAD_LENGTH));
    EXPECT_EQ(sock->getopt(KC_OPT_DESCRIBE_ALL, proto::encode(kc_describe_req{1000, 0}), KC_OPT_MAX_LEN, out),
              std::errc::invalid_argument);
    EXPECT_EQ(last_error(*sock).reason, static_cast<std::uint32_t>(KC_R_BAD_OFFSET));

    // Two values in one option; a bad third one stops there and names itself.
    kc_state st{};
    ASSERT_FALSE(sock->getopt(KC_OPT_STATE, {}, sizeof st, out));
    st = *proto::decode<kc_state>(out);
    ASSERT_FALSE(sock->setopt(KC_OPT_TXN_BEGIN, proto::encode(kc_txn_begin{st.generation})));
    auto bad = proto::pack_set_options(
        {proto::encode_set_chunks(1, Value::of_uint(55))[0], proto::encode_set_chunks(1, Value::of_string("x"))[0]});
    EXPECT_EQ(sock->setopt(KC_OPT_TXN_SET, bad[0]), std::errc::invalid_argument);
    EXPECT_EQ(last_error(*sock).reason, static_cast<std::uint32_t>(KC_R_TYPE_MISMATCH));
    EXPECT_EQ(last_error(*sock).index, 1u);
    auto good = proto::pack_set_options({proto::encode_set_chunks(1, Value::of_uint(56))[0],
                                         proto::encode_set_chunks(6, Value::of_string("batched"))[0]});
    ASSERT_EQ(good.size(), 1u);
    ASSERT_FALSE(sock->setopt(KC_OPT_TXN_SET, good[0]));
    ASSERT_FALSE(sock->getopt(KC_OPT_TXN_COMMIT, {}, sizeof(kc_commit_reply), out));
    const Result got = host_.ctl({"--json", "status"});
    ASSERT_EQ(got.exit_code, 0) << got.describe();
    EXPECT_EQ(json::parse(got.out).at("tunables").at("max_clients"), 56);
    EXPECT_EQ(json::parse(got.out).at("tunables").at("label"), "batched");
}

// The schema cache: the first start describes and saves it; the next start
// takes the table from it; a damaged cache is noticed and replaced.
TEST_F(V2Kext, SchemaCacheSavesTheDescribeAtRestart)
{
    const std::string config = host_.dir().file("config.json");
    const std::string state = host_.dir().file("state");
    const std::string cache = state + "/schema." + kReferenceBundleId + ".cache";
    const std::string reuse = "using its ";
    write_file(config, config_text({{"max_clients", 120}}));
    auto start = [&] {
        return std::make_unique<Process>(
            std::vector<std::string>{bin_path("kextconfd"), "--config", config, "--state-dir", state},
            SpawnOptions{host_.env(), false});
    };
    // Stopped once it has finished starting (it answers on its admin
    // socket): under TSan a SIGTERM that lands while the daemon is still
    // starting up was seen to go unhandled (1 run in 3), which the daemon's
    // other tests never do.
    auto stop = [&](Process& d) {
        EXPECT_TRUE(wait_until(
            [&] {
                std::error_code ec;
                namespace admin = kextconf::admin;
                admin::request(host_.admin_socket(), {{"v", admin::kVersion}, {"cmd", "status"}}, 2s, ec);
                return !ec;
            },
            10s))
            << d.describe();
        stop_daemon(d);
    };
    auto d = start();
    ASSERT_TRUE(d->wait_for_err("saved the configuration", 10s)) << d->describe();
    EXPECT_EQ(d->err().find(reuse), std::string::npos) << d->describe();
    stop(*d);
    const std::string saved = slurp(cache);
    ASSERT_GT(saved.size(), 120u) << "no cache written at " << cache;

    d = start();
    ASSERT_TRUE(d->wait_for_err("already matches", 10s)) << d->describe();
    EXPECT_NE(d->err().find(reuse), std::string::npos) << d->describe();
    stop(*d);

    std::string damaged = saved;
    damaged[168] = static_cast<char>(damaged[168] ^ 0x01); // the first tunable's name
    write_file(cache, damaged);
    d = start();
    ASSERT_TRUE(d->wait_for_err("already matches", 10s)) << d->describe();
    EXPECT_EQ(d->err().find(reuse), std::string::npos) << d->describe();
    EXPECT_NE(d->err().find("damaged"), std::string::npos) << d->describe();
    ASSERT_TRUE(wait_until([&] { return slurp(cache) == saved; }, 5s)) << "the damaged cache is replaced";
    stop(*d);
}

} // namespace
