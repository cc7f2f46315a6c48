// 5. Readers under writes: 1, 2, 8 and 32 readers, each with its own
// query-control connection, getting a tunable in a loop, with and without a
// writer committing continuously on the admin control (one transaction of
// five of the reference kext's scalar tunables, one after another). Reads/s and p99 of a
// get; the modes alternate in short windows so noise hits all of them.
//
// The control: a third client that makes as many round trips as it can on
// the admin control but never commits (it reads the kext's state). It takes
// the CPU a writer takes, minus the commits: if the readers' p99 suffers as
// much from it as from the writer, what slows them is one more client
// competing for the CPUs (2 here), not the commit's exclusive section.
#include "benches.hpp"
#include "reference_kext.hpp"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace kcbench {

namespace {

using kextconf::KextClient;

struct Window {
    double reads_per_s = 0;
    Samples lat;
    std::uint64_t commits = 0;
};

enum class Other { None, Writer, Querier };

// The control's client: state requests on the admin control until `stop`.
void query_until(const std::atomic<bool>& go, const std::atomic<bool>& stop, std::atomic<std::uint64_t>& done)
{
    auto k = connect_reference(KextClient::Access::Admin);
    while (!go)
        std::this_thread::yield();
    while (!stop) {
        kc_state st{};
        if (auto e = k->state(st))
            throw std::runtime_error("state: " + e.message);
        ++done;
    }
}

// One measuring window of `seconds`: `readers` threads read, beside a writer
// that commits or a client that only queries (`other`).
void window(int readers, Other other, double seconds, Window& out)
{
    std::atomic<bool> go{false}, stop{false};
    std::atomic<std::uint64_t> reads{0};
    std::mutex m;
    std::vector<std::thread> threads;
    std::vector<std::string> errors;
    for (int r = 0; r < readers; ++r)
        threads.emplace_back([&] {
            try {
                auto k = connect_reference(KextClient::Access::Query);
                const auto schema = describe_reference(*k);
                const auto& max_clients = tunable_named(schema, "max_clients");
                Samples mine;
                mine.reserve(200000);
                while (!go)
                    std::this_thread::yield();
                std::uint64_t n = 0;
                while (!stop) {
                    const auto t0 = Clock::now();
                    kextconf::proto::Value v;
                    if (auto e = k->get(max_clients, v))
                        throw std::runtime_error(e.message);
                    mine.add(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
                    ++n;
                }
                reads += n;
                std::lock_guard lock(m);
                out.lat.merge(mine);
            } catch (const std::exception& e) {
                std::lock_guard lock(m);
                errors.push_back(e.what());
            }
        });
    std::atomic<std::uint64_t> commits{0};
    if (other == Other::Querier)
        threads.emplace_back([&] {
            try {
                query_until(go, stop, commits);
            } catch (const std::exception& e) {
                std::lock_guard lock(m);
                errors.push_back(e.what());
            }
        });
    if (other == Other::Writer)
        threads.emplace_back([&] {
            try {
                auto k = connect_reference(KextClient::Access::Admin);
                const auto schema = describe_reference(*k);
                auto index = [&](const char* name) { return tunable_named(schema, name).index; };
                const std::uint32_t enabled = index("enabled"), max_clients = index("max_clients"),
                                    log_level = index("log_level"), interval = index("sample_interval_ms"),
                                    label = index("label");
                kc_state st{};
                if (auto e = k->state(st))
                    throw std::runtime_error(e.message);
                std::uint64_t gen = st.generation;
                while (!go)
                    std::this_thread::yield();
                for (std::uint64_t i = 0; !stop; ++i) {
                    using kextconf::proto::Value;
                    const std::vector<std::pair<std::uint32_t, Value>> vals = {
                        {enabled, Value::of_bool(i % 2 == 0)},
                        {max_clients, Value::of_uint(1 + i % 1000)},
                        {log_level, Value::of_enum(static_cast<std::uint32_t>(i % 4))},
                        {interval, Value::of_int(static_cast<std::int64_t>(10 + i % 1000))},
                        {label, Value::of_string(i % 2 ? "odd" : "even")}};
                    kextconf::ApplyResult r;
                    if (auto e = k->apply(gen, vals, r))
                        throw std::runtime_error("commit: " + e.message);
                    gen = r.generation;
                    ++commits;
                }
            } catch (const std::exception& e) {
                std::lock_guard lock(m);
                errors.push_back(e.what());
            }
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // connections made
    const auto t0 = Clock::now();
    go = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    const double elapsed = seconds_since(t0);
    for (auto& th : threads)
        th.join();
    if (!errors.empty())
        throw std::runtime_error(errors.front());
    out.reads_per_s += static_cast<double>(reads) / elapsed;
    out.commits += commits;
}

} // namespace

void bench_readers(Table& t, const Options& o)
{
    const auto host = boot_kexts({{"KextconfReference", kReferenceBundleId}});
    const ScopedEnv root("KEXTSIM_ROOT", host->root());
    const int windows = o.smoke ? 1 : o.quick ? 3 : 10;
    const double secs = o.smoke ? 0.2 : 0.5;
    double single = 0;
    for (int readers : {1, 2, 8, 32}) {
        if (o.smoke && readers > 2)
            break;
        Window quiet, busy, control;
        for (int w = 0; w < windows; ++w) {
            window(readers, Other::None, secs, quiet);
            window(readers, Other::Writer, secs, busy);
            window(readers, Other::Querier, secs, control);
        }
        quiet.reads_per_s /= windows;
        busy.reads_per_s /= windows;
        if (readers == 1)
            single = quiet.reads_per_s;
        const double pq = quiet.lat.percentile(99) * 1e-9, pb = busy.lat.percentile(99) * 1e-9;
        const std::string who = std::to_string(readers) + (readers == 1 ? " reader" : " readers");
        t.add({"5",
               who + ": p99 of a get with/without " + fmt_num(static_cast<double>(busy.commits) / (windows * secs), 3) +
                   " commits/s",
               fmt_time(pb), fmt_time(pq) + " no writer", pb / pq, "<= 1.5x", pb / pq <= 1.5});
        const double pc = control.lat.percentile(99) * 1e-9;
        t.add({"5",
               who + ": the control, p99 beside a client that queries but never commits (" +
                   fmt_num(static_cast<double>(control.commits) / (windows * secs), 3) + " requests/s)",
               fmt_time(pc), fmt_time(pq) + " no writer", pc / pq, "", true});
        t.add({"5", who + ": reads/s without/with writer",
               fmt_num(quiet.reads_per_s, 4) + " / " + fmt_num(busy.reads_per_s, 4), fmt_num(single, 4) + " 1 reader",
               quiet.reads_per_s / single, "", true});
    }
}

} // namespace kcbench
