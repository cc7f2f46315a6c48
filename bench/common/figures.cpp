#include "figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace kcbench {

std::unique_ptr<KextsimBoot> boot_kexts(const std::vector<std::pair<std::string, std::string>>& name_and_id)
{
    std::vector<kctest::KextToLoad> kexts;
    for (const auto& [name, id] : name_and_id)
        kexts.push_back({kext_dir() + "/" + name + ".kext", id});
    auto host = std::make_unique<KextsimBoot>(std::move(kexts));
    if (!host->not_ready().empty())
        throw std::runtime_error("kextsim did not come up: " + host->not_ready());
    return host;
}

double Samples::percentile(double p)
{
    if (v_.empty())
        return 0;
    if (!sorted_) {
        std::sort(v_.begin(), v_.end());
        sorted_ = true;
    }
    const double rank = p / 100.0 * static_cast<double>(v_.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    const auto hi = std::min(lo + 1, v_.size() - 1);
    const double frac = rank - static_cast<double>(lo);
    return v_[lo] * (1 - frac) + v_[hi] * frac;
}

double Samples::mean() const
{
    if (v_.empty())
        return 0;
    return std::accumulate(v_.begin(), v_.end(), 0.0) / static_cast<double>(v_.size());
}

std::string fmt_num(double v, int digits)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

std::string fmt_time(double s)
{
    char buf[64];
    if (s < 1e-6)
        std::snprintf(buf, sizeof buf, "%.0f ns", s * 1e9);
    else if (s < 1e-3)
        std::snprintf(buf, sizeof buf, "%.2f us", s * 1e6);
    else if (s < 1)
        std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

bool Table::all_met() const
{
    return std::all_of(rows_.begin(), rows_.end(), [](const Row& r) { return r.met; });
}

bool Table::budgets_met() const
{
    return std::all_of(rows_.begin(), rows_.end(), [](const Row& r) { return r.met || !r.budget; });
}

bool Table::print() const
{
    std::printf("| # | measure | kextconf | baseline | ratio | target | met |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const auto& r : rows_) {
        const std::string ratio = r.ratio > 0 ? fmt_num(r.ratio) + "x" : "-";
        std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.bench.c_str(), r.metric.c_str(), r.subject.c_str(),
                    r.baseline.empty() ? "-" : r.baseline.c_str(), ratio.c_str(),
                    r.target.empty() ? "-" : r.target.c_str(), r.target.empty() ? "-" : (r.met ? "yes" : "NO"));
    }
    std::fflush(stdout);
    return all_met();
}

namespace {

long status_field(const std::string& text, const char* key)
{
    const auto pos = text.find(key);
    if (pos == std::string::npos)
        return 0;
    return std::strtol(text.c_str() + pos + std::strlen(key), nullptr, 10);
}

std::string slurp(const std::string& path)
{
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

} // namespace

ProcStats proc_stats(pid_t pid)
{
    ProcStats s;
    const std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    if (status.empty() || stat.empty())
        return s;
    s.rss_kb = status_field(status, "VmRSS:");
    s.voluntary_switches = status_field(status, "voluntary_ctxt_switches:");
    s.involuntary_switches = status_field(status, "nonvoluntary_ctxt_switches:");
    // Fields after the command name (which may hold spaces): state is #3;
    // utime #14 and stime #15.
    const auto close = stat.rfind(')');
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && (in >> field); ++i) {
        if (i == 14)
            utime = std::stol(field);
        if (i == 15)
            stime = std::stol(field);
    }
    s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.ok = true;
    return s;
}

ProcStats proc_stats_all_threads(pid_t pid)
{
    ProcStats s = proc_stats(pid);
    if (!s.ok)
        return s;
    s.voluntary_switches = 0;
    s.involuntary_switches = 0;
    const std::string task = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(task, ec)) {
        const std::string st = slurp(e.path().string() + "/status");
        // "nonvoluntary_ctxt_switches:" contains "voluntary_ctxt_switches:";
        // match the line start.
        s.voluntary_switches += status_field(st, "\nvoluntary_ctxt_switches:");
        s.involuntary_switches += status_field(st, "nonvoluntary_ctxt_switches:");
    }
    return s;
}

} // namespace kcbench
