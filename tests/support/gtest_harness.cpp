// The gtest layer of the harness: failures reported through gtest, and the
// host fixtures (declared in process.hpp). Linked as objects into each test
// binary, so the reporter below is installed before main.
#include "process.hpp"

#include <cctype>
#include <csignal>
#include <string>
#include <vector>

namespace kctest {

namespace {

void gtest_failure(const std::string& what)
{
    ADD_FAILURE() << what;
}

[[maybe_unused]] const bool g_reporter_installed = [] {
    set_failure_reporter(gtest_failure);
    return true;
}();

} // namespace

// ---- KextsimHost ----

KextsimHost::KextsimHost(bool load_reference)
    : KextsimBoot(load_reference ? std::vector<KextToLoad>{{kext_bundle(), kReferenceBundleId}}
                                 : std::vector<KextToLoad>{})
{
}

KextsimHost::KextsimHost(const std::string& bundle, const std::string& bundle_id,
                         const std::vector<std::string>& boot_args)
    : KextsimBoot({{bundle, bundle_id}}, boot_args)
{
}

KextsimHost::~KextsimHost()
{
    stop();
}

::testing::AssertionResult KextsimHost::ready() const
{
    if (not_ready().empty())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << not_ready();
}

void KextsimHost::stop()
{
    if (const std::string why = KextsimBoot::stop(); !why.empty())
        ADD_FAILURE() << why;
}

// ---- DyingHost ----

DyingHost::DyingHost(const std::string& bundle, const std::string& bundle_id) : bundle_(bundle), bundle_id_(bundle_id)
{
    // exec: the shell becomes kextsim, so its signal and status are the host's.
    const std::string cmd = "ulimit -c 0; exec \"$0\" boot --load \"$1\"";
    proc_ = std::make_unique<Process>(std::vector<std::string>{"/bin/sh", "-c", cmd, bin_path("kextsim"), bundle},
                                      SpawnOptions{{{"KEXTSIM_ROOT", root()}}, false, {}});
}

::testing::AssertionResult DyingHost::ready()
{
    const bool up = proc_->wait_for_err("kextsim: loaded " + bundle_ + "\n", 60s);
    if (up && proc_->running())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << bundle_id_ << " not loaded: " << proc_->describe();
}

Result DyingHost::end()
{
    proc_->wait(30s);
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

::testing::AssertionResult exited_saying(const Result& r, int exit_code, std::initializer_list<std::string> said)
{
    std::string wrong;
    if (r.exit_code != exit_code)
        wrong += "exit code " + std::to_string(r.exit_code) + ", expected " + std::to_string(exit_code) + "\n";
    for (const std::string& s : said)
        if (r.err.find(s) == std::string::npos)
            wrong += "stderr does not say \"" + s + "\"\n";
    if (wrong.empty())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << wrong << r.describe();
}

} // namespace kctest
