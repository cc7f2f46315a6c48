// List tunables in the kernel library, in kextsim's in-process mode: every
// refusal of a list chunk or read, commit and abort rules, sharing of
// unchanged lists, the in-kernel consumer API, and a 100,000-entry commit on
// the reference kext. Leaks show in the unload message, checked at teardown.
#include "lists_kext.h"

#include <kextconf/codec.hpp>

#include "../support/inproc_kext.hpp"
#include <kextsim/darwin.hpp>
#include <kextsim/inproc.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <thread>

struct kc_list; // opaque: the kernel library's list view (kc_kext.h)

namespace {

using namespace kextconf::proto;
using kextsim::InProcessControl;
using kextsim::InProcessHost;

using kextsim::kSysprotoControl;
constexpr uid_t kNobody = 65534;
constexpr std::uint32_t kLevel = LISTS_TEST_LEVEL, kPorts = LISTS_TEST_PORTS, kPaths = LISTS_TEST_PATHS,
                        kSecret = LISTS_TEST_SECRET;

// A connection plus the calls the tests make, returning errno (0 = ok).
struct Conn {
    std::unique_ptr<InProcessControl> c;

    int set_raw(const Bytes& b) const
    {
        return c->setsockopt(kSysprotoControl, KC_OPT_TXN_SET, b.data(), b.size()) == 0 ? 0 : errno;
    }
    // One TXN_SET with the header fields given and `payload`.
    int set_chunk(std::uint32_t index, std::uint32_t type, std::uint32_t offset, std::uint32_t count,
                  std::uint32_t total, const Bytes& payload) const
    {
        const kc_value_hdr h{index, type, offset, count, total, static_cast<std::uint32_t>(payload.size())};
        Bytes b = encode(h);
        b.insert(b.end(), payload.begin(), payload.end());
        return set_raw(b);
    }
    int set_value(std::uint32_t index, const Value& v, std::size_t max_len = KC_OPT_MAX_LEN) const
    {
        for (const Bytes& b : encode_set_chunks(index, v, max_len))
            if (int e = set_raw(b); e != 0)
                return e;
        return 0;
    }
    int begin(std::uint64_t generation) const
    {
        const kc_txn_begin b{generation};
        return c->setsockopt(kSysprotoControl, KC_OPT_TXN_BEGIN, &b, sizeof b) == 0 ? 0 : errno;
    }
    int abort() const { return c->setsockopt(kSysprotoControl, KC_OPT_TXN_ABORT, nullptr, 0) == 0 ? 0 : errno; }
    int commit(kc_commit_reply& r) const
    {
        std::size_t len = sizeof r;
        return c->getsockopt(kSysprotoControl, KC_OPT_TXN_COMMIT, &r, &len) == 0 ? 0 : errno;
    }
    kc_state state() const
    {
        kc_state st{};
        std::size_t len = sizeof st;
        EXPECT_EQ(c->getsockopt(kSysprotoControl, KC_OPT_STATE, &st, &len), 0);
        return st;
    }
    std::uint32_t reason() const
    {
        kc_error_detail d{};
        std::size_t len = sizeof d;
        EXPECT_EQ(c->getsockopt(kSysprotoControl, KC_OPT_LAST_ERROR, &d, &len), 0);
        return d.reason;
    }
    // One KC_OPT_GET with a buffer of `size` bytes; errno or 0.
    int get_chunk(std::uint32_t index, std::uint32_t offset, std::size_t size, Bytes& out) const
    {
        out.assign(std::max(size, sizeof(kc_get_req)), 0);
        const kc_get_req req{index, offset};
        std::memcpy(out.data(), &req, sizeof req);
        std::size_t len = size;
        if (c->getsockopt(kSysprotoControl, KC_OPT_GET, out.data(), &len) != 0)
            return errno;
        out.resize(len);
        return 0;
    }
    // A whole value, chunk by chunk, with `size`-byte buffers.
    Value get(std::uint32_t index, std::uint32_t type, std::size_t size = KC_OPT_MAX_LEN) const
    {
        Value v;
        v.type = type;
        std::uint32_t offset = 0;
        for (int guard = 0; guard < 1000000; ++guard) {
            Bytes buf;
            EXPECT_EQ(get_chunk(index, offset, size, buf), 0) << "offset " << offset;
            auto chunk = decode_value_chunk(buf);
            EXPECT_TRUE(chunk && append_chunk(v, *chunk)) << "offset " << offset;
            if (!chunk)
                break;
            offset += chunk->hdr.count;
            if (offset >= chunk->hdr.total || chunk->hdr.count == 0)
                break;
        }
        return v;
    }
};

Bytes int64s(std::initializer_list<std::int64_t> v)
{
    Bytes b(v.size() * sizeof(std::int64_t));
    std::memcpy(b.data(), std::data(v), b.size());
    return b;
}

Bytes text(std::string_view s)
{
    return Bytes(s.begin(), s.end());
}

class ListKext : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_EQ(host.load(KEXTCONF_TEST_LISTS_KEXT_BUNDLE), "");
        a = connect(LISTS_TEST_BUNDLE_ID, 0);
        ASSERT_TRUE(a.c);
    }
    void TearDown() override
    {
        a.c.reset();
        host.clear_faults();
        std::string msg;
        EXPECT_EQ(host.unload(LISTS_TEST_BUNDLE_ID, msg), 0) << msg;
        EXPECT_EQ(msg.find("leak"), std::string::npos) << msg;
    }
    static Conn connect(const std::string& name, uid_t uid)
    {
        int err = 0;
        Conn c{InProcessControl::connect(name, uid, err)};
        EXPECT_TRUE(c.c) << name << ": " << std::strerror(err);
        return c;
    }
    // The kext's own entry points (lists_kext.cpp), found in the loaded image.
    template <class F> F sym(const char* name)
    {
        const std::string exe = std::string(KEXTCONF_TEST_LISTS_KEXT_BUNDLE) + "/Contents/MacOS/KextconfListsTest";
        void* h = ::dlopen(exe.c_str(), RTLD_NOW | RTLD_NOLOAD);
        EXPECT_TRUE(h) << ::dlerror();
        void* f = h ? ::dlsym(h, name) : nullptr;
        EXPECT_TRUE(f) << name;
        if (h)
            ::dlclose(h);
        return reinterpret_cast<F>(f);
    }
    // Allocations `txn` makes: it is run with the n-th allocation failing
    // for n = 1, 2, ... until no fault is reached. kNoCount if it never ends.
    static constexpr std::uint64_t kNoCount = 64;
    std::uint64_t allocations(const std::function<void()>& txn)
    {
        for (std::uint64_t n = 1; n < kNoCount; ++n) {
            EXPECT_TRUE(host.fail_nth("alloc", n));
            const std::uint64_t before = host.faults_injected();
            txn();
            host.clear_faults();
            a.abort(); // whatever the fault left open
            if (host.faults_injected() == before)
                return n - 1;
        }
        return kNoCount;
    }
    // Expects errno `err` and last-error reason `reason` from `e`.
    void refused(int e, int err, std::uint32_t reason, const char* what)
    {
        EXPECT_EQ(e, err) << what;
        EXPECT_EQ(a.reason(), reason) << what << ": " << reason_text(a.reason());
    }

    InProcessHost host;
    Conn a;
};

TEST_F(ListKext, ListsStartEmptyAndRoundTrip)
{
    EXPECT_EQ(a.get(kPorts, KC_TYPE_INT64_LIST), Value::of_ints({}));
    EXPECT_EQ(a.get(kPaths, KC_TYPE_STRING_LIST), Value::of_strings({}));
    ASSERT_EQ(a.begin(1), 0);
    // Forced into chunks of 3 ints / a few strings by a small option size.
    const Value ports = Value::of_ints({22, 80, 443, 8080, 1, 65535, 5353});
    const Value paths = Value::of_strings({"/bin", "", "/usr/lib", "/sbin"});
    ASSERT_GT(encode_set_chunks(kPorts, ports, sizeof(kc_value_hdr) + 24).size(), 2u);
    ASSERT_EQ(a.set_value(kPorts, ports, sizeof(kc_value_hdr) + 24), 0);
    ASSERT_EQ(a.set_value(kPaths, paths, sizeof(kc_value_hdr) + 12), 0);
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0) << reason_text(a.reason());
    EXPECT_EQ(r.changed, 2u);
    // Read back with buffers that hold only a few elements at a time.
    EXPECT_EQ(a.get(kPorts, KC_TYPE_INT64_LIST, sizeof(kc_value_hdr) + 16), ports);
    EXPECT_EQ(a.get(kPaths, KC_TYPE_STRING_LIST, sizeof(kc_value_hdr) + 10), paths);
    // The kext's hash is the user-space codec's.
    const std::vector<Value> all = {Value::of_int(1), ports, paths, Value::of_ints({})};
    EXPECT_EQ(r.config_hash, config_hash(all));
    EXPECT_EQ(a.state().config_hash, config_hash(all));
}

TEST_F(ListKext, ChunkOrderIsEnforced)
{
    ASSERT_EQ(a.begin(1), 0);
    // A continuation with nothing staged.
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 2, 1, 3, int64s({5})), EINVAL, KC_R_BAD_OFFSET, "no first chunk");
    ASSERT_EQ(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 0, 2, 5, int64s({1, 2})), 0);
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 3, 1, 5, int64s({4})), EINVAL, KC_R_BAD_OFFSET, "gap");
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 1, 1, 5, int64s({2})), EINVAL, KC_R_BAD_OFFSET, "overlap");
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 2, 1, 6, int64s({3})), EINVAL, KC_R_BAD_OFFSET, "total changed");
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 4, 2, 5, int64s({5, 6})), EINVAL, KC_R_BAD_LENGTH, "past total");
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 2, 2, 5, int64s({3})), EINVAL, KC_R_BAD_LENGTH,
            "length != count * 8");
    // The right continuation still works after the refusals.
    ASSERT_EQ(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 2, 3, 5, int64s({3, 4, 5})), 0);
    // A chunk after the end, and a new offset-0 chunk restarts the value.
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 5, 1, 5, int64s({6})), EINVAL, KC_R_BAD_LENGTH, "after end");
    ASSERT_EQ(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 0, 1, 1, int64s({9})), 0);
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0);
    EXPECT_EQ(a.get(kPorts, KC_TYPE_INT64_LIST), Value::of_ints({9}));
}

TEST_F(ListKext, ElementsAndSizesAreChecked)
{
    ASSERT_EQ(a.begin(1), 0);
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 0, 1, LISTS_TEST_PORTS_MAX + 1, int64s({1})), EINVAL, KC_R_TOO_LONG,
            "total over max_count");
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 0, 2, 2, int64s({80, 0})), EINVAL, KC_R_OUT_OF_RANGE, "port 0");
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 0, 1, 1, int64s({65536})), EINVAL, KC_R_OUT_OF_RANGE, "65536");
    refused(a.set_chunk(kPaths, KC_TYPE_STRING_LIST, 0, 1, 1, text(std::string("/usr/local") + '\0')), EINVAL,
            KC_R_TOO_LONG, "element over max.u");
    refused(a.set_chunk(kPaths, KC_TYPE_STRING_LIST, 0, 1, 1, text(std::string("a\0b", 3) + '\0')), EINVAL,
            KC_R_BAD_STRING, "embedded NUL");
    refused(a.set_chunk(kPaths, KC_TYPE_STRING_LIST, 0, 1, 1, text("abc")), EINVAL, KC_R_BAD_STRING,
            "no terminating NUL");
    refused(a.set_chunk(kPaths, KC_TYPE_STRING_LIST, 0, 2, 2, text(std::string("a") + '\0')), EINVAL, KC_R_BAD_STRING,
            "fewer elements than count");
    refused(a.set_chunk(kPaths, KC_TYPE_STRING_LIST, 0, 1, LISTS_TEST_PATHS_MAX + 1, text(std::string("a") + '\0')),
            EINVAL, KC_R_TOO_LONG, "too many paths");
    // Type mismatches both ways, and a scalar header on a list.
    refused(a.set_chunk(kPaths, KC_TYPE_INT64_LIST, 0, 1, 1, int64s({1})), EINVAL, KC_R_TYPE_MISMATCH, "ints to paths");
    refused(a.set_chunk(kPorts, KC_TYPE_STRING_LIST, 0, 1, 1, text(std::string("a") + '\0')), EINVAL,
            KC_R_TYPE_MISMATCH, "strings to ports");
    refused(a.set_chunk(kPorts, KC_TYPE_INT64, 0, 1, 1, int64s({1})), EINVAL, KC_R_TYPE_MISMATCH, "scalar to list");
    refused(a.set_chunk(kLevel, KC_TYPE_INT64_LIST, 0, 1, 1, int64s({1})), EINVAL, KC_R_TYPE_MISMATCH,
            "list to scalar");
    // Nothing of the above was staged: committing changes nothing.
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0);
    EXPECT_EQ(r.changed, 0u);
}

TEST_F(ListKext, IncompleteListFailsCommitAndChangesNothing)
{
    ASSERT_EQ(a.begin(1), 0);
    ASSERT_EQ(a.set_value(kLevel, Value::of_int(5)), 0);
    ASSERT_EQ(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 0, 2, 4, int64s({1, 2})), 0);
    kc_commit_reply r{};
    refused(a.commit(r), EINVAL, KC_R_INCOMPLETE, "two of four ports");
    const kc_state st = a.state();
    EXPECT_EQ(st.generation, 1u);
    EXPECT_EQ(st.config_hash,
              config_hash({Value::of_int(1), Value::of_ints({}), Value::of_strings({}), Value::of_ints({})}));
    // The failed commit ended the transaction.
    refused(a.set_chunk(kPorts, KC_TYPE_INT64_LIST, 2, 2, 4, int64s({3, 4})), EINVAL, KC_R_NO_TRANSACTION, "after");
}

TEST_F(ListKext, ReadsWithOffsetAndHiddenLists)
{
    ASSERT_EQ(a.begin(1), 0);
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({10, 20, 30})), 0);
    ASSERT_EQ(a.set_value(kSecret, Value::of_ints({7})), 0);
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0);

    Bytes buf;
    ASSERT_EQ(a.get_chunk(kPorts, 1, KC_OPT_MAX_LEN, buf), 0);
    auto c = decode_value_chunk(buf);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->hdr.offset, 1u);
    EXPECT_EQ(c->hdr.count, 2u);
    EXPECT_EQ(c->hdr.total, 3u);
    ASSERT_EQ(a.get_chunk(kPorts, 3, KC_OPT_MAX_LEN, buf), 0) << "offset == total: the end, empty";
    c = decode_value_chunk(buf);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->hdr.count, 0u);
    EXPECT_EQ(a.get_chunk(kPorts, 4, KC_OPT_MAX_LEN, buf), EINVAL);
    EXPECT_EQ(a.reason(), static_cast<std::uint32_t>(KC_R_BAD_OFFSET));
    EXPECT_EQ(a.get_chunk(kPorts, 0, sizeof(kc_value_hdr) + 7, buf), ERANGE) << "not one element fits";
    EXPECT_EQ(a.get_chunk(kPorts, 0, sizeof(kc_value_hdr) - 1, buf), ERANGE);

    // The hidden list: the admin reads it, the query control does not know it.
    EXPECT_EQ(a.get(kSecret, KC_TYPE_INT64_LIST), Value::of_ints({7}));
    Conn q = connect(std::string(LISTS_TEST_BUNDLE_ID) + KC_QUERY_SUFFIX, kNobody);
    ASSERT_TRUE(q.c);
    EXPECT_EQ(q.get_chunk(kSecret, 0, KC_OPT_MAX_LEN, buf), ENOENT);
    EXPECT_EQ(q.reason(), static_cast<std::uint32_t>(KC_R_UNKNOWN_TUNABLE));
    EXPECT_EQ(q.state().config_hash, 0u) << "the hash would let anyone test guesses of the hidden list";
    EXPECT_EQ(q.get(kPorts, KC_TYPE_INT64_LIST), Value::of_ints({10, 20, 30}));
}

// Anyone may listen to kern_events: with a hidden tunable the applied event
// carries no hash (it covers the hidden values); the admin control has it.
TEST_F(ListKext, AppliedEventHidesTheHashWhenATunableIsHidden)
{
    kextsim::InProcessEvents events;
    ASSERT_EQ(kctest::inproc::listen_to_kext(events, LISTS_TEST_BUNDLE_ID), 0);
    ASSERT_EQ(a.begin(1), 0);
    ASSERT_EQ(a.set_value(kSecret, Value::of_ints({7})), 0);
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0);
    ASSERT_NE(r.config_hash, 0u);
    EXPECT_EQ(a.state().config_hash, r.config_hash);
    bool seen = false;
    std::uint8_t buf[256];
    for (ssize_t n; (n = events.recv(buf, sizeof buf)) > 24;) {
        std::uint32_t code = 0;
        std::memcpy(&code, buf + 20, sizeof code); // kern_event_msg.event_code
        if (code != KC_EV_APPLIED)
            continue;
        auto ev = decode_event(KC_EV_APPLIED, ByteView(buf + 24, static_cast<std::size_t>(n) - 24));
        ASSERT_TRUE(ev);
        EXPECT_EQ(ev->generation, r.generation);
        EXPECT_EQ(ev->config_hash, 0u) << "the hash would let any local user test guesses of the hidden list";
        seen = true;
    }
    EXPECT_TRUE(seen) << "no applied event";
}

// Dropping the connection or aborting frees what was staged; the teardown
// unload reports leaks if any block survived.
TEST_F(ListKext, DisconnectAndAbortDiscardStagedLists)
{
    ASSERT_EQ(a.begin(1), 0);
    ASSERT_EQ(a.set_chunk(kPaths, KC_TYPE_STRING_LIST, 0, 1, 3, text(std::string("/a") + '\0')), 0);
    a.c.reset();
    a = connect(LISTS_TEST_BUNDLE_ID, 0);
    ASSERT_EQ(a.begin(1), 0);
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({1, 2})), 0);
    ASSERT_EQ(a.abort(), 0);
    EXPECT_EQ(a.state().generation, 1u);
    EXPECT_EQ(a.get(kPorts, KC_TYPE_INT64_LIST), Value::of_ints({}));
    // A list staged twice in one transaction keeps only the second.
    ASSERT_EQ(a.begin(1), 0);
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({1, 2})), 0);
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({3})), 0);
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0);
    EXPECT_EQ(a.get(kPorts, KC_TYPE_INT64_LIST), Value::of_ints({3}));
}

// A transaction that does not set a list shares it: a scalar-only
// transaction makes as many allocations with full lists as with empty ones,
// and setting a list costs exactly one more (its block).
TEST_F(ListKext, UnchangedListsAreSharedNotCopied)
{
    const auto scalar_txn = [&] {
        kc_commit_reply r{};
        if (a.begin(a.state().generation) == 0 && a.set_value(kLevel, Value::of_int(1 + a.state().generation % 9)) == 0)
            a.commit(r);
    };
    const std::uint64_t empty = allocations(scalar_txn);
    ASSERT_LT(empty, kNoCount);

    ASSERT_EQ(a.begin(a.state().generation), 0);
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({1, 2, 3})), 0);
    ASSERT_EQ(a.set_value(kPaths, Value::of_strings({"/x", "/y"})), 0);
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0);
    EXPECT_EQ(allocations(scalar_txn), empty) << "an unchanged list was copied";
    EXPECT_EQ(allocations([&] {
                  kc_commit_reply c{};
                  if (a.begin(a.state().generation) == 0 && a.set_value(kPorts, Value::of_ints({4, 5})) == 0)
                      a.commit(c);
              }),
              empty + 1)
        << "one block per list value set";
    EXPECT_EQ(a.get(kPaths, KC_TYPE_STRING_LIST), Value::of_strings({"/x", "/y"}));

    // Out of memory staging a list: ENOMEM, the transaction stays usable.
    ASSERT_EQ(a.begin(a.state().generation), 0);
    ASSERT_TRUE(host.fail_nth("alloc", 1));
    refused(a.set_value(kPorts, Value::of_ints({4})), ENOMEM, KC_R_NO_MEMORY, "block allocation");
    host.clear_faults();
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({4})), 0);
    ASSERT_EQ(a.commit(r), 0);
    EXPECT_EQ(a.get(kPorts, KC_TYPE_INT64_LIST), Value::of_ints({4}));
}

// A list view held past kc_stop would be freed into a destroyed allocation
// tag: the stop is refused while one is held, and the kext keeps serving.
TEST_F(ListKext, StopIsRefusedWhileAViewIsHeld)
{
    using Acquire = const kc_list* (*)(std::uint32_t);
    using Release = void (*)(const kc_list*);
    using Contains = bool (*)(std::uint32_t, std::int64_t);
    auto acquire = sym<Acquire>("lists_test_acquire");
    auto release = sym<Release>("lists_test_release");
    auto contains = sym<Contains>("lists_test_contains");
    ASSERT_TRUE(acquire && release && contains);
    ASSERT_EQ(a.begin(1), 0);
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({22})), 0);
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0);
    a.c.reset(); // no client: only the view holds the stop back
    const kc_list* view = acquire(kPorts);
    ASSERT_NE(view, nullptr);
    std::string msg;
    EXPECT_NE(host.unload(LISTS_TEST_BUNDLE_ID, msg), 0) << "stop with a view held";
    EXPECT_TRUE(contains(kPorts, 22)) << "a refused stop keeps serving values";
    release(view);
    a = connect(LISTS_TEST_BUNDLE_ID, 0); // TearDown unloads
    ASSERT_TRUE(a.c);
    EXPECT_EQ(a.get(kPorts, KC_TYPE_INT64_LIST), Value::of_ints({22}));
}

// The consumer API: a view stays valid and unchanged across a commit that
// replaces the list, and is freed by its release (leak check at teardown).
TEST_F(ListKext, ConsumerViewSurvivesCommit)
{
    using Acquire = const kc_list* (*)(std::uint32_t);
    using Release = void (*)(const kc_list*);
    using Count = std::uint32_t (*)(const kc_list*);
    using Ints = const std::int64_t* (*)(const kc_list*);
    using Str = const char* (*)(const kc_list*, std::uint32_t, std::size_t*);
    using Contains = bool (*)(std::uint32_t, std::int64_t);
    auto acquire = sym<Acquire>("lists_test_acquire");
    auto release = sym<Release>("lists_test_release");
    auto count = sym<Count>("lists_test_count");
    auto ints = sym<Ints>("lists_test_int64s");
    auto str = sym<Str>("lists_test_string");
    auto contains = sym<Contains>("lists_test_contains");
    ASSERT_TRUE(acquire && release && count && ints && str && contains);

    EXPECT_EQ(acquire(kLevel), nullptr) << "not a list";
    EXPECT_EQ(acquire(99), nullptr);
    ASSERT_EQ(a.begin(1), 0);
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({443, 22, 8080})), 0);
    ASSERT_EQ(a.set_value(kPaths, Value::of_strings({"/bin", "/opt"})), 0);
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0);
    EXPECT_TRUE(contains(kPorts, 22));
    EXPECT_TRUE(contains(kPorts, 8080));
    EXPECT_FALSE(contains(kPorts, 80));
    EXPECT_FALSE(contains(kPaths, 22)) << "not an int64 list";

    const kc_list* view = acquire(kPorts);
    const kc_list* paths = acquire(kPaths);
    ASSERT_TRUE(view && paths);
    ASSERT_EQ(a.begin(2), 0);
    ASSERT_EQ(a.set_value(kPorts, Value::of_ints({1})), 0);
    ASSERT_EQ(a.set_value(kPaths, Value::of_strings({})), 0);
    ASSERT_EQ(a.commit(r), 0);
    // The old view is intact; new readers see the new value.
    ASSERT_EQ(count(view), 3u);
    EXPECT_EQ(ints(view)[0], 443);
    EXPECT_EQ(ints(view)[2], 8080);
    std::size_t len = 0;
    EXPECT_STREQ(str(paths, 1, &len), "/opt");
    EXPECT_EQ(len, 4u);
    EXPECT_EQ(str(paths, 2, &len), nullptr);
    EXPECT_EQ(ints(paths), nullptr);
    EXPECT_FALSE(contains(kPorts, 443));
    EXPECT_TRUE(contains(kPorts, 1));
    release(view);
    release(paths);
    const kc_list* now = acquire(kPaths);
    ASSERT_TRUE(now);
    EXPECT_EQ(count(now), 0u);
    release(now);
}

// Readers on another thread never see a torn list: each committed value is
// `n` copies of one number, so a view mixing two commits would show it.
TEST_F(ListKext, ConcurrentReadersSeeWholeValues)
{
    using Acquire = const kc_list* (*)(std::uint32_t);
    using Release = void (*)(const kc_list*);
    using Count = std::uint32_t (*)(const kc_list*);
    using Ints = const std::int64_t* (*)(const kc_list*);
    auto acquire = sym<Acquire>("lists_test_acquire");
    auto release = sym<Release>("lists_test_release");
    auto count = sym<Count>("lists_test_count");
    auto ints = sym<Ints>("lists_test_int64s");
    ASSERT_TRUE(acquire && release && count && ints);
    std::atomic<bool> done{false};
    std::atomic<int> torn{0}, reads{0};
    std::thread reader([&] {
        while (!done.load()) {
            const kc_list* v = acquire(kPorts);
            const std::uint32_t n = count(v);
            for (std::uint32_t i = 1; i < n; ++i)
                if (ints(v)[i] != ints(v)[0])
                    ++torn;
            release(v);
            ++reads;
        }
    });
    std::uint64_t gen = 1;
    // Several chunks per value (3 entries per option); stop at the first
    // failure so the reader is always joined.
    while (reads.load() == 0)
        std::this_thread::yield();
    for (int round = 0; round < 200 || (reads.load() < 200 && round < 100000); ++round) {
        const Value v = Value::of_ints(std::vector<std::int64_t>(1 + round % LISTS_TEST_PORTS_MAX, 1 + round));
        kc_commit_reply r{};
        const int e1 = a.begin(gen), e2 = e1 ? e1 : a.set_value(kPorts, v, sizeof(kc_value_hdr) + 24),
                  e3 = e2 ? e2 : a.commit(r);
        EXPECT_EQ(e3, 0) << "round " << round;
        if (e3 != 0)
            break;
        gen = r.generation;
    }
    done = true;
    reader.join();
    EXPECT_EQ(torn.load(), 0);
    EXPECT_GE(reads.load(), 200);
}

// The reference kext's 100,000-entry lists: one transaction each way, read
// back in chunks, hashed like user space hashes them.
TEST(ReferenceLists, HundredThousandEntriesCommitAndReadBack)
{
    constexpr std::uint32_t kEntries = 100000;
    InProcessHost host;
    ASSERT_EQ(host.load(KEXTCONF_TEST_KEXT_BUNDLE), "");
    int err = 0;
    Conn a{InProcessControl::connect("org.kextconf.reference", 0, err)};
    ASSERT_TRUE(a.c);
    // The lists' indices, by name, from the kext's own table.
    std::vector<kc_tunable_desc> table;
    kc_hello_reply hello{};
    std::size_t len = sizeof hello;
    ASSERT_EQ(a.c->getsockopt(kSysprotoControl, KC_OPT_HELLO, &hello, &len), 0);
    std::uint32_t kBlockedPorts = UINT32_MAX, kTrustedPaths = UINT32_MAX;
    for (std::uint32_t i = 0; i < hello.tunable_count; ++i) {
        kc_tunable_desc d{};
        std::memcpy(&d, &i, sizeof i);
        len = sizeof d;
        ASSERT_EQ(a.c->getsockopt(kSysprotoControl, KC_OPT_DESCRIBE, &d, &len), 0);
        table.push_back(d);
        if (field_string(d.name) == "blocked_ports")
            kBlockedPorts = i;
        if (field_string(d.name) == "trusted_paths")
            kTrustedPaths = i;
    }
    ASSERT_NE(kBlockedPorts, UINT32_MAX);
    ASSERT_NE(kTrustedPaths, UINT32_MAX);
    std::vector<std::int64_t> ports(kEntries);
    std::vector<std::string> paths(kEntries);
    for (std::uint32_t i = 0; i < kEntries; ++i) {
        ports[i] = 1 + (i * 7919) % 65535;
        paths[i] = "/Applications/App" + std::to_string(i) + ".app/Contents/MacOS/bin";
    }
    const Value pv = Value::of_ints(ports), sv = Value::of_strings(paths);
    ASSERT_EQ(a.begin(1), 0);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(a.set_value(kBlockedPorts, pv), 0) << reason_text(a.reason());
    ASSERT_EQ(a.set_value(kTrustedPaths, sv), 0) << reason_text(a.reason());
    kc_commit_reply r{};
    ASSERT_EQ(a.commit(r), 0) << reason_text(a.reason());
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    std::printf("100k int64 + 100k string entries: staged and committed in-process in %lld us\n",
                static_cast<long long>(us.count()));
    EXPECT_EQ(r.changed, 2u);
    EXPECT_EQ(a.get(kBlockedPorts, KC_TYPE_INT64_LIST), pv);
    // A buffer past KC_OPT_MAX_LEN still gets one KC_OPT_MAX_LEN chunk at most.
    Bytes big;
    ASSERT_EQ(a.get_chunk(kBlockedPorts, 0, 64 * 1024, big), 0);
    EXPECT_LE(big.size(), static_cast<std::size_t>(KC_OPT_MAX_LEN));
    EXPECT_EQ(big.size(), sizeof(kc_value_hdr) + (KC_OPT_MAX_LEN - sizeof(kc_value_hdr)) / 8 * 8);
    EXPECT_EQ(a.get(kTrustedPaths, KC_TYPE_STRING_LIST), sv);
    // Every tunable's value, read back by type, hashed by the codec.
    std::vector<Value> all;
    for (const kc_tunable_desc& d : table)
        all.push_back(a.get(d.index, d.type));
    EXPECT_EQ(all.at(kBlockedPorts), pv);
    EXPECT_EQ(all.at(kTrustedPaths), sv);
    EXPECT_EQ(r.config_hash, config_hash(all));
    a.c.reset();
    std::string msg;
    EXPECT_EQ(host.unload("org.kextconf.reference", msg), 0) << msg;
    EXPECT_EQ(msg.find("leak"), std::string::npos) << msg;
}

} // namespace
