// 2. Applying a configuration: from kextconfd's start to its "applied" line
// (written after it has read the kext's state back and compared generation
// and content hash: the verified apply), for the benchmark kext with 16 and
// 256 int64 tunables, against `sysctl -p` applying a file of as many net.*
// settings in a private network namespace. Both sides are a fork+exec of a
// fresh process; every run changes every value (the files alternate).
//
// 4. Reload: from a rename-save of kextconfd's file to its "applied" line,
// minus the configured debounce, against a bare apply of the same change
// (KextClient: connect, read state, one transaction, read state back) on a
// second host, interleaved.
#include "benches.hpp"
#include "netns.hpp"
#include <kextconf/kext_client.hpp>

#include <csignal>
#include <sstream>
#include <stdexcept>

namespace kcbench {

namespace {

std::string bench_kext(int n)
{
    return "BenchKext" + std::to_string(n);
}

std::string bench_id(int n)
{
    return "org.kextconf.bench" + std::to_string(n);
}

std::string tunable_name(int i)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "t%02x", i);
    return buf;
}

// A config file for the benchmark kext: tunable i = base + i.
std::string config_text(int n, int base)
{
    std::ostringstream out;
    out << "{\n  \"kext\": \"" << bench_id(n) << "\",\n  \"tunables\": {\n";
    for (int i = 0; i < n; ++i)
        out << "    \"" << tunable_name(i) << "\": " << base + i << (i + 1 < n ? ",\n" : "\n");
    out << "  }\n}\n";
    return out.str();
}

std::vector<std::pair<std::uint32_t, kextconf::proto::Value>> values(int n, int base)
{
    std::vector<std::pair<std::uint32_t, kextconf::proto::Value>> v;
    for (int i = 0; i < n; ++i)
        v.emplace_back(static_cast<std::uint32_t>(i), kextconf::proto::Value::of_int(base + i));
    return v;
}

} // namespace

double daemon_start_to_apply(const KextsimBoot& host, const std::string& config, const std::string& state_dir,
                             Millis apply_timeout)
{
    const auto t0 = Clock::now();
    Process d({bin_path("kextconfd"), "--config", config, "--state-dir", state_dir, "--admin-socket",
               state_dir + "/admin.sock"},
              SpawnOptions{{{"KEXTSIM_ROOT", host.root()}}, false, {}});
    if (!d.next_err_line("applied ", apply_timeout))
        throw std::runtime_error("kextconfd did not apply " + config + ": " + d.err());
    const double s = seconds_since(t0);
    if (d.terminate(30s) != 0)
        throw std::runtime_error("kextconfd did not stop cleanly: " + d.err());
    return s;
}

namespace {

double sysctl_p(const NetNamespace& ns, const std::string& file)
{
    const auto t0 = Clock::now();
    Process c({"/usr/sbin/sysctl", "-q", "-p", file}, SpawnOptions{{}, false, ns.path()});
    c.wait(30s);
    const double s = seconds_since(t0);
    if (c.exit_code() != 0)
        throw std::runtime_error("sysctl -p " + file + " failed: " + c.describe());
    return s;
}

// A bare apply of `n` values, as a client that knows what to send does it.
void bare_apply(int n, int base)
{
    kextconf::KextError err;
    auto k = kextconf::KextClient::connect(bench_id(n), kextconf::KextClient::Access::Admin, err);
    if (!k)
        throw std::runtime_error("admin connect: " + err.message);
    kc_state st{};
    if (auto e = k->state(st))
        throw std::runtime_error(e.message);
    kextconf::ApplyResult r;
    if (auto e = k->apply(st.generation, values(n, base), r))
        throw std::runtime_error("bare apply: " + e.message);
    kc_state after{};
    if (auto e = k->state(after); e || after.generation != r.generation || after.config_hash != r.config_hash)
        throw std::runtime_error("bare apply did not verify");
}

void start_apply(Table& t, const Options& o, const NetNamespace& ns, int n)
{
    const auto host = boot_kexts({{bench_kext(n), bench_id(n)}});
    TempDir dir;
    const std::string cfg[2] = {dir.file("a.json"), dir.file("b.json")};
    write_file(cfg[0], config_text(n, 1000));
    write_file(cfg[1], config_text(n, 2000));
    const std::string sys[2] = {dir.file("a.conf"), dir.file("b.conf")};
    const auto settings = ns.settings(static_cast<std::size_t>(n));
    write_file(sys[0], NetNamespace::sysctl_file(settings, true));
    write_file(sys[1], NetNamespace::sysctl_file(settings, false));

    const int runs = o.smoke ? 2 : o.quick ? 10 : 30;
    Samples d, s;
    daemon_start_to_apply(*host, cfg[1], dir.path()); // warm-up: page cache, kext at the b values
    sysctl_p(ns, sys[1]);
    for (int i = 0; i < runs; ++i) {
        d.add(daemon_start_to_apply(*host, cfg[i % 2], dir.path()));
        s.add(sysctl_p(ns, sys[i % 2]));
    }
    const double dm = d.median(), sm = s.median();
    t.add({"2", "start to verified apply, " + std::to_string(n) + " tunables (median)", fmt_time(dm),
           fmt_time(sm) + " sysctl -p, " + std::to_string(n) + " net.*", dm / sm, "< 1x", dm < sm});
    // The fastest run of each: what the machine's other load did not slow.
    const double dl = d.percentile(0), sl = s.percentile(0);
    t.add({"2", "start to verified apply, " + std::to_string(n) + " tunables (fastest)", fmt_time(dl),
           fmt_time(sl) + " sysctl -p", dl / sl, "", true});
}

void reload(Table& t, const Options& o, int n)
{
    constexpr int kDebounceMs = 50;
    const auto host = boot_kexts({{bench_kext(n), bench_id(n)}});
    const auto bare_host = boot_kexts({{bench_kext(n), bench_id(n)}});
    TempDir dir;
    const std::string cfg = dir.file("kext.json");
    write_file(cfg, config_text(n, 0));
    Process d({bin_path("kextconfd"), "--config", cfg, "--state-dir", dir.path(), "--admin-socket",
               dir.path() + "/admin.sock", "--reload-debounce-ms", std::to_string(kDebounceMs)},
              SpawnOptions{{{"KEXTSIM_ROOT", host->root()}}, false, {}});
    if (!d.next_err_line("applied ", 30s) || !d.next_err_line("saved the configuration", 30s))
        throw std::runtime_error("kextconfd did not apply: " + d.err());
    const ScopedEnv bare_root("KEXTSIM_ROOT", bare_host->root());

    const int runs = o.smoke ? 2 : o.quick ? 10 : 30;
    Samples r, b;
    for (int i = 1; i <= runs; ++i) {
        const int base = 10000 * i;
        const auto t0 = Clock::now();
        replace_file(cfg, config_text(n, base));
        if (!d.next_err_line("applied ", 30s))
            throw std::runtime_error("kextconfd did not reload: " + d.err());
        r.add(seconds_since(t0) - kDebounceMs / 1000.0);
        // After the apply the daemon saves the file as the last good copy
        // (fsync); the next edit waits until it is idle again, as an
        // administrator's next save would.
        if (!d.next_err_line("saved the configuration", 30s))
            throw std::runtime_error("kextconfd did not save the last good copy: " + d.err());
        const auto t1 = Clock::now();
        bare_apply(n, base);
        b.add(seconds_since(t1));
    }
    d.terminate(30s);
    const double rl = r.percentile(0), bl = b.percentile(0);
    t.add({"4", "reload minus debounce, " + std::to_string(n) + " tunables (fastest)", fmt_time(rl),
           fmt_time(bl) + " bare apply", rl / bl, "", true});
    const double rm = r.median(), bm = b.median();
    t.add({"4",
           "reload minus " + std::to_string(kDebounceMs) + " ms debounce, " + std::to_string(n) + " tunables (median)",
           fmt_time(rm), fmt_time(bm) + " bare apply", rm / bm, "<= 1.3x", rm / bm <= 1.3});
}

} // namespace

void bench_apply(Table& t, const Options& o)
{
    NetNamespace ns;
    for (int n : {16, 256})
        start_apply(t, o, ns, n);
    for (int n : {16, 256})
        reload(t, o, n);
}

} // namespace kcbench
