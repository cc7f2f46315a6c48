// KextsimHost and DyingHost: `kextsim boot` run as a test fixture, and what a
// host that was expected to die left behind (declared in process.hpp).
#include "process.hpp"

#include <cctype>
#include <csignal>
#include <string>
#include <vector>

namespace kctest {

// ---- KextsimHost ----

KextsimHost::KextsimHost(bool load_reference)
    : KextsimHost(load_reference ? kext_bundle() : std::string(), kReferenceBundleId)
{
}

KextsimHost::KextsimHost(const std::string& bundle, const std::string& bundle_id,
                         const std::vector<std::string>& boot_args)
    : kextsim_bin_(bin_path("kextsim")), bundle_(bundle), dir_("/tmp/kct.")
{
    const bool load = !bundle_.empty();
    if (dir_.path().empty()) {
        not_ready_ = "no temp dir";
        return;
    }
    std::vector<std::string> argv{kextsim_bin_, "boot"};
    if (load) {
        argv.push_back("--load");
        argv.push_back(bundle_);
    }
    argv.insert(argv.end(), boot_args.begin(), boot_args.end());
    proc_ = std::make_unique<Process>(std::move(argv), SpawnOptions{env(), false});
    if (!proc_->started()) {
        not_ready_ = "kextsim boot did not start";
        return;
    }
    // Ready when listed; a failed --load or a dead host ends the wait early.
    bool ready = false;
    wait_until(
        [&] {
            if (!proc_->running() || proc_->err().find(" failed: ") != std::string::npos)
                return true;
            ready = load ? is_loaded(bundle_id) : kextsim({"showloaded"}).exit_code == 0;
            return ready;
        },
        5s);
    if (!ready)
        not_ready_ = (load ? bundle_id + " not listed by showloaded" : std::string("host not answering")) +
                     "; kextsim boot: " + proc_->describe();
}

KextsimHost::~KextsimHost()
{
    stop();
}

::testing::AssertionResult KextsimHost::ready() const
{
    if (not_ready_.empty())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << not_ready_;
}

void KextsimHost::stop()
{
    if (stopped_ || !proc_)
        return;
    stopped_ = true;
    if (!proc_->signal(SIGTERM)) {
        ADD_FAILURE() << "kextsim boot exited before SIGTERM: " << proc_->describe();
        return;
    }
    if (!proc_->wait(10s)) {
        ADD_FAILURE() << "kextsim boot did not stop within 10 s of SIGTERM: " << proc_->describe();
        return;
    }
    EXPECT_EQ(proc_->exit_code(), 0) << "kextsim boot after SIGTERM: " << proc_->describe();
}

Result KextsimHost::kextsim(const std::vector<std::string>& args, Millis timeout) const
{
    std::vector<std::string> argv{kextsim_bin_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(std::move(argv), SpawnOptions{env(), false}, timeout);
}

Result KextsimHost::ctl(const std::vector<std::string>& args, bool as_nobody, Millis timeout) const
{
    std::vector<std::string> argv{bin_path("kextconfctl")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(std::move(argv), SpawnOptions{env(), as_nobody}, timeout);
}

bool KextsimHost::is_loaded(const std::string& bundle_id) const
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

bool KextsimHost::wait_no_clients(Millis timeout) const
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

// ---- DyingHost ----

DyingHost::DyingHost(const std::string& bundle, const std::string& bundle_id) : bundle_id_(bundle_id)
{
    // exec: the shell becomes kextsim, so its signal and status are the host's.
    const std::string cmd = "ulimit -c 0; exec \"$0\" boot --load \"$1\"";
    proc_ = std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", cmd, bin_path("kextsim"), bundle},
                                      SpawnOptions{{{"KEXTSIM_ROOT", root()}}, false});
}

::testing::AssertionResult DyingHost::ready()
{
    const bool up = wait_until(
        [&] {
            const Result r = run({bin_path("kextsim"), "showloaded"}, SpawnOptions{{{"KEXTSIM_ROOT", root()}}});
            return r.out.find(bundle_id_) != std::string::npos || !proc_->running();
        },
        5s);
    if (up && proc_->running())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << bundle_id_ << " not loaded: " << proc_->describe();
}

Result DyingHost::end()
{
    proc_->wait(10s);
    return proc_->result();
}

// ---- what a dead host left ----

std::string panic_line(const Result& r)
{
    const auto at = r.err.find("kextsim: panic: ");
    return at == std::string::npos ? std::string() : r.err.substr(at, r.err.find('\n', at) - at);
}

bool mentions_number(const std::string& text, std::size_t n)
{
    const std::string digits = std::to_string(n);
    for (auto at = text.find(digits); at != std::string::npos; at = text.find(digits, at + 1)) {
        const bool left = at == 0 || !std::isdigit(static_cast<unsigned char>(text[at - 1]));
        const std::size_t end = at + digits.size();
        const bool right = end == text.size() || !std::isdigit(static_cast<unsigned char>(text[end]));
        if (left && right)
            return true;
    }
    return false;
}

} // namespace kctest
