// 7. Cost in the kernel: instruction counts (callgrind) of a get, a commit
// of 16 and of 256 tunables, a commit of a 100,000-entry list (the reference
// kext's blocked_ports, sent as 8 KiB chunks) and one event post, measured in kextsim's
// in-process mode (kcbench_cost) so one process holds the client, kextsim's
// KPIs and the kext. Each count is checked against bench/budgets.json (per
// build type: the compiler's optimization changes them): more than 10% over
// budget fails. `kcbench --only 7 --update-budgets` writes the measured
// counts as the new budgets.
#include "benches.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace kcbench {

namespace {

constexpr double kBudgetSlack = 1.10; // a count may exceed its budget by 10%

struct Probe {
    const char* name;    // budgets.json key
    const char* op;      // kcbench_cost argument
    const char* collect; // callgrind --toggle-collect pattern
    int iterations;
    const char* what;
};

// Instructions inside `collect` per iteration, from callgrind's totals.
double count(const Probe& p)
{
    TempDir dir;
    const std::string out = dir.file("callgrind.out");
    const std::string log = dir.file("valgrind.log");
    const int st =
        run({"/usr/bin/valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--log-file=" + log,
             std::string("--toggle-collect=") + p.collect, KCBENCH_COST_BIN, p.op, std::to_string(p.iterations)},
            {}, 300s)
            .exit_code;
    if (st != 0) {
        std::ifstream l(log);
        std::stringstream ss;
        ss << l.rdbuf();
        throw std::runtime_error(std::string("callgrind of ") + p.op + " failed (status " + std::to_string(st) +
                                 "): " + ss.str());
    }
    std::ifstream f(out);
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("totals:", 0) == 0 || line.rfind("summary:", 0) == 0)
            return std::stod(line.substr(line.find(':') + 1)) / p.iterations;
    throw std::runtime_error("no totals in " + out);
}

} // namespace

void bench_cost(Table& t, const Options& o)
{
    if (::access("/usr/bin/valgrind", X_OK) != 0)
        throw std::runtime_error("valgrind is not installed (bench/run.sh installs it)");
    const int scale = o.smoke ? 1 : 4;
    const Probe probes[] = {
        {"get", "get", "kcbench_measured_get", 250 * scale, "get (query control)"},
        {"commit16", "commit16", "kcbench_measured_commit", 10 * scale, "commit of 16 tunables"},
        {"commit256", "commit256", "kcbench_measured_commit", 5 * scale, "commit of 256 tunables"},
        {"commit_list", "commitlist", "kcbench_measured_commit_list", 2 * scale, "commit of a 100,000-entry list"},
        {"event_post", "event", "kc::post_applied*", 10 * scale, "one event post (applied, one listener)"},
    };
    std::ifstream in(KCBENCH_BUDGETS);
    nlohmann::json budgets = nlohmann::json::parse(in, nullptr, false);
    if (budgets.is_discarded() || !budgets.is_object())
        budgets = nlohmann::json::object();
    nlohmann::json& mine = budgets[KCBENCH_BUILD_TYPE];
    if (!mine.is_object())
        mine = nlohmann::json::object();
    for (const auto& p : probes) {
        const double n = count(p);
        if (o.update_budgets)
            mine[p.name] = static_cast<std::uint64_t>(n + 0.5);
        const double budget = mine.value(p.name, 0.0);
        const bool have = budget > 0;
        t.add({"7", std::string(p.what) + ", instructions (" KCBENCH_BUILD_TYPE ")", fmt_num(n, 6),
               have ? fmt_num(budget, 6) + " budget" : "no budget", have ? n / budget : 0, "<= 1.1x budget",
               have && n <= budget * kBudgetSlack, true});
    }
    if (o.update_budgets) {
        std::ofstream f(KCBENCH_BUDGETS);
        f << budgets.dump(2) << "\n";
        if (!f)
            throw std::runtime_error("cannot write " KCBENCH_BUDGETS);
    }
}

} // namespace kcbench
