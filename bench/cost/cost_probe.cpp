// kcbench_cost: the kext's work for one operation, in kextsim's in-process
// mode so callgrind sees the kernel library, kextsim's KPIs and the client
// in one process. kcbench runs it under
//   valgrind --tool=callgrind --toggle-collect=<function>
// where <function> is the extern "C" kcbench_measured_* loop below (or, for
// an event post, the kernel library's post_applied), and divides the
// instruction count by the iterations.
//
//   kcbench_cost get|commit16|commit256|commitlist|event ITERATIONS
#include <kextconf/codec.hpp>
#include <kextconf/proto.h>
#include <kextsim/inproc.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int kSysprotoControl = 2;

[[noreturn]] void die(const std::string& what)
{
    std::fprintf(stderr, "kcbench_cost: %s\n", what.c_str());
    std::exit(1);
}

std::unique_ptr<kextsim::InProcessControl> connect(const std::string& name, uid_t uid)
{
    int err = 0;
    auto c = kextsim::InProcessControl::connect(name, uid, err);
    if (!c)
        die("connect " + name + ": errno " + std::to_string(err));
    return c;
}

kextsim::InProcessControl* g_query = nullptr;
kextsim::InProcessControl* g_admin = nullptr;
std::uint32_t g_count = 0;
std::uint64_t g_generation = 0;

// One transaction setting all g_count tunables to base + index.
void commit_once(std::int64_t base)
{
    const kc_txn_begin begin{g_generation};
    if (g_admin->setsockopt(kSysprotoControl, KC_OPT_TXN_BEGIN, &begin, sizeof begin) != 0)
        die("begin failed");
    unsigned char buf[sizeof(kc_value_hdr) + sizeof(std::int64_t)];
    for (std::uint32_t i = 0; i < g_count; ++i) {
        const kc_value_hdr h{i, KC_TYPE_INT64, 0, 1, 1, sizeof(std::int64_t)};
        const std::int64_t v = base + i;
        std::memcpy(buf, &h, sizeof h);
        std::memcpy(buf + sizeof h, &v, sizeof v);
        if (g_admin->setsockopt(kSysprotoControl, KC_OPT_TXN_SET, buf, sizeof buf) != 0)
            die("set failed");
    }
    kc_commit_reply r{};
    std::size_t len = sizeof r;
    if (g_admin->getsockopt(kSysprotoControl, KC_OPT_TXN_COMMIT, &r, &len) != 0 || len != sizeof r)
        die("commit failed");
    g_generation = r.generation;
}

std::uint64_t generation()
{
    kc_state s{};
    std::size_t len = sizeof s;
    if (g_admin->getsockopt(kSysprotoControl, KC_OPT_STATE, &s, &len) != 0)
        die("state failed");
    return s.generation;
}

// Two transactions' worth of TXN_SET chunks replacing blocked_ports with
// 100,000 ports, encoded before measuring.
std::vector<kextconf::proto::Bytes> g_list_chunks[2];

std::uint32_t find_tunable(const char* name)
{
    for (std::uint32_t i = 0; i < g_count; ++i) {
        kc_tunable_desc d{};
        const kc_describe_req req{i, 0};
        std::memcpy(&d, &req, sizeof req);
        std::size_t len = sizeof d;
        if (g_admin->getsockopt(kSysprotoControl, KC_OPT_DESCRIBE, &d, &len) == 0 && std::strcmp(d.name, name) == 0)
            return i;
    }
    die(std::string("no tunable ") + name);
}

void commit_list_once(int which)
{
    const kc_txn_begin begin{g_generation};
    if (g_admin->setsockopt(kSysprotoControl, KC_OPT_TXN_BEGIN, &begin, sizeof begin) != 0)
        die("begin failed");
    for (const auto& chunk : g_list_chunks[which])
        if (g_admin->setsockopt(kSysprotoControl, KC_OPT_TXN_SET, chunk.data(), chunk.size()) != 0)
            die("list chunk failed");
    kc_commit_reply r{};
    std::size_t len = sizeof r;
    if (g_admin->getsockopt(kSysprotoControl, KC_OPT_TXN_COMMIT, &r, &len) != 0 || len != sizeof r)
        die("commit failed");
    g_generation = r.generation;
}

// An unprivileged get of tunable #1, as KextClient::get sends it.
void get_once()
{
    unsigned char buf[sizeof(kc_value_hdr) + sizeof(kc_scalar)];
    const kc_get_req req{1, 0};
    std::memcpy(buf, &req, sizeof req);
    std::size_t len = sizeof buf;
    if (g_query->getsockopt(kSysprotoControl, KC_OPT_GET, buf, &len) != 0)
        die("get failed");
}

} // namespace

extern "C" {

// One operation each: callgrind collects inside these only. The listener is
// drained between calls (outside them), so every post finds room and the
// count per operation does not depend on how many ran.
__attribute__((noinline)) void kcbench_measured_get()
{
    get_once();
}

__attribute__((noinline)) void kcbench_measured_commit(int i)
{
    commit_once(1000 * (i + 1));
}

__attribute__((noinline)) void kcbench_measured_commit_list(int i)
{
    commit_list_once(i % 2);
}

} // extern "C"

int main(int argc, char** argv)
{
    if (argc != 3)
        die("usage: kcbench_cost get|commit16|commit256|commitlist|event ITERATIONS");
    const std::string op = argv[1];
    const int n = std::atoi(argv[2]);
    std::string bundle = "KextconfReference", id = "org.kextconf.reference";
    if (op == "commit16" || op == "commit256" || op == "event") {
        const std::string size = op == "commit256" ? "256" : "16";
        bundle = "BenchKext" + size;
        id = "org.kextconf.bench" + size;
    } else if (op != "get" && op != "commitlist") {
        die("unknown operation " + op);
    }
    kextsim::InProcessHost host;
    if (auto e = host.load(std::string(KCBENCH_KEXT_DIR) + "/" + bundle + ".kext"); !e.empty())
        die(e);
    {
        // An event listener for the kext's events, so posting delivers.
        kextsim::InProcessEvents events;
        std::uint32_t vendor = 0;
        if (events.vendor_code(id, vendor) != 0)
            die("no vendor code for " + id);
        events.set_filter(vendor, KC_EVENT_CLASS, KC_EVENT_SUBCLASS);
        auto query = connect(id + KC_QUERY_SUFFIX, 501);
        auto admin = connect(id, 0);
        g_query = query.get();
        g_admin = admin.get();
        kc_hello_reply hello{};
        std::size_t len = sizeof hello;
        if (admin->getsockopt(kSysprotoControl, KC_OPT_HELLO, &hello, &len) != 0)
            die("hello failed");
        g_count = hello.tunable_count;
        g_generation = generation();
        // Warm up once outside the measured function, then measure.
        unsigned char ev[256];
        auto drain = [&] {
            while (events.recv(ev, sizeof ev) > 0) {
            }
        };
        if (op == "get") {
            get_once();
            for (int i = 0; i < n; ++i)
                kcbench_measured_get();
        } else if (op == "commitlist") {
            const std::uint32_t index = find_tunable("blocked_ports");
            for (int k = 0; k < 2; ++k) {
                std::vector<std::int64_t> ports(100000);
                for (std::size_t i = 0; i < ports.size(); ++i)
                    ports[i] = 1 + static_cast<std::int64_t>((i + static_cast<std::size_t>(k)) % 65535);
                g_list_chunks[k] =
                    kextconf::proto::encode_set_chunks(index, kextconf::proto::Value::of_ints(std::move(ports)));
                if (g_list_chunks[k].empty())
                    die("cannot encode the list");
            }
            commit_list_once(1);
            drain();
            for (int i = 0; i < n; ++i) {
                kcbench_measured_commit_list(i);
                drain();
            }
        } else {
            commit_once(7);
            drain();
            for (int i = 0; i < n; ++i) {
                kcbench_measured_commit(i);
                drain();
            }
        }
    }
    std::string message;
    if (host.unload(id, message) != 0)
        die("unload: " + message);
    return 0;
}
