// KextsimBoot: `kextsim boot` as a host for tests and benchmarks.
#include "harness.hpp"

#include <csignal>
#include <sstream>
#include <string>
#include <vector>

namespace kctest {

namespace {

// Only a hang: a host that comes up takes what this machine needs.
constexpr Millis kBootHangBound = 60s;
constexpr Millis kStopHangBound = 30s;

} // namespace

KextsimBoot::KextsimBoot(std::vector<KextToLoad> kexts, const std::vector<std::string>& boot_args)
    : kextsim_bin_(bin_path("kextsim")), dir_("/tmp/kct.")
{
    if (dir_.path().empty()) {
        not_ready_ = "no temp dir";
        return;
    }
    std::vector<std::string> argv{kextsim_bin_, "boot"};
    for (const KextToLoad& k : kexts) {
        argv.push_back("--load");
        argv.push_back(k.bundle);
    }
    argv.insert(argv.end(), boot_args.begin(), boot_args.end());
    proc_ = std::make_unique<Process>(std::move(argv), SpawnOptions{env(), false, {}});
    if (!proc_->started()) {
        not_ready_ = "kextsim boot did not start";
        return;
    }
    // kextsim boot says "booted" once it serves, then "loaded BUNDLE" or
    // "load BUNDLE failed: ..." for each --load, in order.
    auto all_loaded = [&](const std::string& err) {
        if (err.find("kextsim: booted, serving ") == std::string::npos)
            return false;
        for (const KextToLoad& k : kexts)
            if (err.find("kextsim: loaded " + k.bundle + "\n") == std::string::npos)
                return false;
        return true;
    };
    proc_->wait_for_err(
        [&](const std::string& err) { return all_loaded(err) || err.find(" failed: ") != std::string::npos; },
        kBootHangBound);
    if (!all_loaded(proc_->err()) || !proc_->running()) {
        std::string what = "host not answering";
        if (!kexts.empty()) {
            what.clear();
            for (const KextToLoad& k : kexts)
                what += (what.empty() ? "" : ", ") + k.bundle_id;
            what += " not loaded";
        }
        not_ready_ = what + "; kextsim boot: " + proc_->describe();
    }
}

KextsimBoot::~KextsimBoot()
{
    stop();
}

std::string KextsimBoot::stop()
{
    if (stopped_ || !proc_)
        return {};
    stopped_ = true;
    if (!proc_->signal(SIGTERM))
        return "kextsim boot exited before SIGTERM: " + proc_->describe();
    if (!proc_->wait(kStopHangBound))
        return "kextsim boot did not stop within 30 s of SIGTERM: " + proc_->describe();
    if (proc_->exit_code() != 0)
        return "kextsim boot after SIGTERM: " + proc_->describe();
    return {};
}

Result KextsimBoot::kextsim(const std::vector<std::string>& args, Millis timeout) const
{
    std::vector<std::string> argv{kextsim_bin_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(std::move(argv), SpawnOptions{env(), false, {}}, timeout);
}

Result KextsimBoot::ctl(const std::vector<std::string>& args, bool as_nobody, Millis timeout) const
{
    std::vector<std::string> argv{bin_path("kextconfctl")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(std::move(argv), SpawnOptions{env(), as_nobody, {}}, timeout);
}

bool KextsimBoot::is_loaded(const std::string& bundle_id) const
{
    const Result r = kextsim({"showloaded"});
    if (r.exit_code != 0)
        return false;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string index, name;
        words >> index >> name;
        if (name == bundle_id)
            return true;
    }
    return false;
}

bool KextsimBoot::wait_no_clients(Millis timeout) const
{
    return wait_until(
        [&] {
            const Result r = kextsim({"stats"});
            if (r.exit_code != 0)
                return false;
            std::istringstream lines(r.out);
            for (std::string line; std::getline(lines, line);)
                if (line.rfind("control ", 0) == 0 && line.find(" units=0 ") == std::string::npos)
                    return false;
            return true;
        },
        timeout);
}

} // namespace kctest
