// The Applier (daemon/kextconfd/applier.hpp) against the unchanged reference
// kext loaded in-process (kextsim's in-process mode): the real kext, the real
// KextClient, a ControlSocket that passes every option straight to the kext
// and lets a test act between two of them (another writer commits, the
// connection breaks).
#include "applier.hpp"

#include <kextconf/config_loader.hpp>
#include <kextconf/defaults.hpp>
#include <kextconf/logging.hpp>
#include <kextsim/darwin.hpp>
#include <kextsim/inproc.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <functional>

namespace {

using namespace kextconf;
using kextsim::InProcessControl;
using kextsim::InProcessHost;

constexpr const char* kBundleId = KEXTCONF_DEFAULT_KEXT;
using kextsim::kSysprotoControl;

// A control socket over an in-process connection. `before` runs before each
// option reaches the kext, `after` once the kext has answered.
class InProcessSocket final : public ControlSocket {
public:
    explicit InProcessSocket(std::unique_ptr<InProcessControl> c) : c_(std::move(c)) {}

    std::function<void(int opt)> before;
    std::function<void(int opt)> after;
    int options = 0; // every option, for "read nothing" checks
    int gets = 0;    // KC_OPT_GET only

    // The connection breaks (the kext or its host went away).
    void drop() { c_.reset(); }

    std::error_code setopt(int opt, proto::ByteView value) override
    {
        return call(opt, [&] { return c_->setsockopt(kSysprotoControl, opt, value.data(), value.size()); });
    }

    std::error_code getopt(int opt, proto::ByteView in, std::size_t out_size, proto::Bytes& out) override
    {
        gets += opt == KC_OPT_GET;
        out.assign(std::max(out_size, in.size()), 0);
        std::copy(in.begin(), in.end(), out.begin());
        std::size_t len = out.size();
        const auto ec = call(opt, [&] { return c_->getsockopt(kSysprotoControl, opt, out.data(), &len); });
        out.resize(ec ? 0 : len);
        return ec;
    }

private:
    template <typename F> std::error_code call(int opt, F&& f)
    {
        ++options;
        if (before)
            before(opt);
        std::error_code ec;
        if (!c_)
            ec = std::make_error_code(std::errc::not_connected);
        else if (f() != 0)
            ec = std::error_code(errno, std::generic_category());
        if (after)
            after(opt);
        return ec;
    }

    std::unique_ptr<InProcessControl> c_;
};

class ApplierTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        init_logging(kLogSubsystem, spdlog::level::off, false);
        ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
    }
    void TearDown() override
    {
        std::string msg;
        host.unload(kBundleId, msg);
    }

    // An admin connection; `raw` keeps a pointer to its socket for hooks.
    std::unique_ptr<KextClient> connect(InProcessSocket** raw = nullptr)
    {
        int err = 0;
        auto c = InProcessControl::connect(kBundleId, 0, err);
        EXPECT_TRUE(c) << std::strerror(err);
        auto sock = std::make_unique<InProcessSocket>(std::move(c));
        if (raw)
            *raw = sock.get();
        KextError e;
        auto client = KextClient::over(std::move(sock), kBundleId, e);
        EXPECT_TRUE(client) << e.message;
        return client;
    }

    static LoadedConfig config(const std::string& tunables)
    {
        std::vector<Diagnostic> errors;
        auto doc = parse_config(std::string("{\"kext\": \"") + kBundleId + "\",\n \"tunables\": " + tunables + "}",
                                "test.json", errors);
        EXPECT_TRUE(doc) << (errors.empty() ? "" : errors[0].str());
        return LoadedConfig{std::move(*doc), "", ConfigOrigin::File, {}, {}};
    }

    // Another writer commits max_clients = `v` on its own connection.
    void other_writer_sets_max_clients(std::uint64_t v)
    {
        auto other = connect();
        ASSERT_TRUE(other);
        std::vector<proto::TunableDesc> schema;
        ASSERT_FALSE(other->describe(schema));
        kc_state st{};
        ASSERT_FALSE(other->state(st));
        ApplyResult r;
        const auto e = other->apply(st.generation, {{max_clients(schema).index, proto::Value::of_uint(v)}}, r);
        ASSERT_FALSE(e) << e.message;
    }

    static const proto::TunableDesc& max_clients(const std::vector<proto::TunableDesc>& schema)
    {
        for (const auto& d : schema)
            if (d.name == "max_clients")
                return d;
        throw std::runtime_error("the reference kext has no max_clients");
    }

    std::uint64_t kext_max_clients()
    {
        auto k = connect();
        std::vector<proto::TunableDesc> schema;
        EXPECT_FALSE(k->describe(schema));
        proto::Value v;
        EXPECT_FALSE(k->get(max_clients(schema), v));
        return v.scalar.u;
    }

    InProcessHost host;
    KextSession session;
    Applier applier{session};
};

TEST_F(ApplierTest, AppliesVerifiesAndRemembersWhatTheKextHolds)
{
    LoadedConfig c = config(R"({"max_clients": 100, "label": "applier"})");
    InProcessSocket* sock = nullptr;
    auto kext = connect(&sock);
    const ApplyReport r = applier.apply(*kext, c, nullptr, "test");
    ASSERT_EQ(r.outcome, ApplyReport::Outcome::Applied) << r.failure;
    EXPECT_TRUE(r.new_load);
    EXPECT_TRUE(r.committed);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_EQ(r.changed, 2u);
    EXPECT_EQ(r.changed_names, (std::vector<std::string>{"max_clients", "label"}));
    EXPECT_EQ(kext_max_clients(), 100u);

    // Again, on a new connection: validated once for this load, nothing read
    // back (the session knows the generation and hash it verified), no commit.
    const FittedValues* fitted = &*c.fitted;
    auto again = connect(&sock);
    const ApplyReport second = applier.apply(*again, c, &c, "test");
    ASSERT_EQ(second.outcome, ApplyReport::Outcome::Applied) << second.failure;
    EXPECT_FALSE(second.new_load);
    EXPECT_FALSE(second.committed);
    EXPECT_EQ(second.attempts, 0);
    EXPECT_EQ(sock->gets, 0);
    EXPECT_EQ(&*c.fitted, fitted);
    EXPECT_EQ(second.config_hash, r.config_hash);
}

// The profile's values over the file's over the kext's defaults, each
// tunable's source named (what `kextconfctl status` shows).
TEST_F(ApplierTest, TheProfileIsLaidOverTheFileOverTheDefaults)
{
    LoadedConfig c = config(R"({"max_clients": 100, "label": "file"})");
    c.managed = std::make_shared<const ManagedPrefs>(
        ManagedPrefs{kManagedDomain, "managed.plist", "", nlohmann::json{{"max_clients", 200}}});
    auto kext = connect();
    const ApplyReport r = applier.apply(*kext, c, nullptr, "test");
    ASSERT_EQ(r.outcome, ApplyReport::Outcome::Applied) << r.failure;
    EXPECT_EQ(kext_max_clients(), 200u);

    const std::vector<proto::TunableDesc>& schema = session.tunables();
    const FittedValues& f = *c.fitted;
    ASSERT_EQ(f.values.size(), schema.size());
    ASSERT_EQ(f.sources.size(), schema.size());
    for (std::size_t i = 0; i < schema.size(); ++i) {
        const std::string& name = schema[i].name;
        if (name == "max_clients") {
            EXPECT_EQ(f.sources[i], admin::ValueSource::Managed);
            EXPECT_EQ(f.values[i], proto::Value::of_uint(200));
        } else if (name == "label") {
            EXPECT_EQ(f.sources[i], admin::ValueSource::File);
            EXPECT_EQ(f.values[i].str, "file");
        } else {
            EXPECT_EQ(f.sources[i], admin::ValueSource::Default) << name;
            EXPECT_EQ(f.values[i], schema[i].def) << name;
        }
    }
}

TEST_F(ApplierTest, ADocumentThatDoesNotFitIsRejectedWithItsPositions)
{
    LoadedConfig c = config(R"({"max_clients": 5000})");
    auto kext = connect();
    const ApplyReport r = applier.apply(*kext, c, nullptr, "test");
    ASSERT_EQ(r.outcome, ApplyReport::Outcome::Rejected);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].str(), "test.json:2:30: error: tunable \"max_clients\": 5000 is out of range [1, 1024]");
    EXPECT_EQ(r.attempts, 0);
    EXPECT_NE(kext_max_clients(), 5000u);
}

// Another writer commits between our read of the state and our commit: the
// kext refuses the stale generation, the Applier re-reads and retries.
TEST_F(ApplierTest, AStaleGenerationIsRetriedWithAFreshRead)
{
    LoadedConfig c = config(R"({"max_clients": 100})");
    InProcessSocket* sock = nullptr;
    auto kext = connect(&sock);
    bool raced = false;
    sock->before = [&](int opt) {
        if (opt == KC_OPT_TXN_BEGIN && !raced) {
            raced = true;
            other_writer_sets_max_clients(7);
        }
    };
    const ApplyReport r = applier.apply(*kext, c, nullptr, "test");
    ASSERT_EQ(r.outcome, ApplyReport::Outcome::Applied) << r.failure;
    EXPECT_TRUE(raced);
    EXPECT_EQ(r.attempts, 2);
    EXPECT_TRUE(r.committed);
    EXPECT_EQ(kext_max_clients(), 100u);
    kc_state st{};
    ASSERT_FALSE(kext->state(st));
    EXPECT_EQ(st.generation, r.generation);
    EXPECT_EQ(st.config_hash, r.config_hash);
}

// Another writer commits between our commit and its verification: the
// state read back is not what we committed, and the apply fails saying so.
TEST_F(ApplierTest, AVerificationMismatchFailsTheApply)
{
    LoadedConfig c = config(R"({"max_clients": 100})");
    InProcessSocket* sock = nullptr;
    auto kext = connect(&sock);
    sock->after = [&](int opt) {
        if (opt == KC_OPT_TXN_COMMIT)
            other_writer_sets_max_clients(9);
    };
    const ApplyReport r = applier.apply(*kext, c, nullptr, "test");
    ASSERT_EQ(r.outcome, ApplyReport::Outcome::Failed);
    EXPECT_NE(r.failure.find("verification failed: kext reports generation 3"), std::string::npos) << r.failure;
    EXPECT_FALSE(r.committed);
    EXPECT_EQ(kext_max_clients(), 9u);

    // The session does not claim to know values it did not verify: the next
    // apply reads them and puts the file's value back.
    sock->after = nullptr;
    const ApplyReport again = applier.apply(*kext, c, nullptr, "test");
    ASSERT_EQ(again.outcome, ApplyReport::Outcome::Applied) << again.failure;
    EXPECT_TRUE(again.committed);
    EXPECT_GT(sock->gets, 0);
    EXPECT_EQ(kext_max_clients(), 100u);
}

// The connection breaks in the middle of the transaction (the kext or its
// host went away): the apply fails, the kext keeps what it had, and the
// kext's next load starts a new session that applies in full.
TEST_F(ApplierTest, AKextThatGoesAwayMidPushFailsCleanly)
{
    LoadedConfig c = config(R"({"max_clients": 100, "label": "gone"})");
    InProcessSocket* sock = nullptr;
    auto kext = connect(&sock);
    kc_state before{};
    ASSERT_FALSE(kext->state(before));
    sock->before = [&](int opt) {
        if (opt == KC_OPT_TXN_SET)
            sock->drop();
    };
    const ApplyReport r = applier.apply(*kext, c, nullptr, "test");
    ASSERT_EQ(r.outcome, ApplyReport::Outcome::Failed);
    EXPECT_NE(r.failure.find("apply failed, the kext keeps generation " + std::to_string(before.generation)),
              std::string::npos)
        << r.failure;
    EXPECT_NE(kext_max_clients(), 100u); // the transaction died with the connection

    kext.reset();
    std::string msg;
    ASSERT_EQ(host.unload(kBundleId, msg), 0) << msg;
    ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
    auto reloaded = connect();
    const ApplyReport fresh = applier.apply(*reloaded, c, nullptr, "kext reloaded");
    ASSERT_EQ(fresh.outcome, ApplyReport::Outcome::Applied) << fresh.failure;
    EXPECT_TRUE(fresh.new_load);
    EXPECT_TRUE(fresh.committed);
    EXPECT_EQ(kext_max_clients(), 100u);
}

} // namespace
