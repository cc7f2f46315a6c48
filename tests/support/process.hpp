// The tests' face of the harness (harness.hpp): the harness's failures
// become gtest failures, and `kextsim boot` hosts are fixtures whose
// readiness is an AssertionResult and whose unclean stop fails the test.
#pragma once

#include "harness.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace kctest {

// A KextsimBoot as a test fixture. With load_reference it loads
// $KEXTCONF_KEXT_BUNDLE; otherwise nothing (it is ready once it serves).
// Check ready() before using it. On destruction (or stop()) anything but a
// clean exit 0 after SIGTERM is a test failure.
class KextsimHost : public KextsimBoot {
public:
    explicit KextsimHost(bool load_reference = true);
    // Boots with --load `bundle` [boot_args...] (e.g. --fail SITE:N).
    KextsimHost(const std::string& bundle, const std::string& bundle_id,
                const std::vector<std::string>& boot_args = {});
    ~KextsimHost();

    ::testing::AssertionResult ready() const;
    // SIGTERM; records a failure unless it exits 0. Idempotent.
    void stop();
};

// A `kextsim boot --load BUNDLE` that a test expects to die (a kext's misuse
// that XNU answers with a panic ends kextsim with SIGABRT). Not a
// KextsimHost, which counts anything but a clean exit as a failure: nothing
// is checked on the way out. Runs under `ulimit -c 0` so the expected abort
// leaves no core file. Check ready() before using it; a host still running
// when this goes away is killed with SIGKILL.
class DyingHost {
public:
    DyingHost(const std::string& bundle, const std::string& bundle_id);
    DyingHost(const DyingHost&) = delete;
    DyingHost& operator=(const DyingHost&) = delete;

    const std::string& root() const { return dir_.path(); }
    // Success once the host says it loaded the bundle and still runs; a
    // failure naming what it left otherwise.
    ::testing::AssertionResult ready();
    // Waits for the host to end (killed after a hang bound); what it left.
    Result end();

private:
    std::string bundle_;
    std::string bundle_id_;
    TempDir dir_;
    std::unique_ptr<Process> proc_;
};

// A test against one `kextsim boot` host, with the reference kext unless
// constructed without it; the test body runs only once the host is ready.
class HostTest : public ::testing::Test {
protected:
    explicit HostTest(bool load_reference = true) : host(load_reference) {}
    void SetUp() override { ASSERT_TRUE(host.ready()); }

    KextsimHost host;
};

// The "kextsim: panic: ..." line of a dead host's stderr ("" if none).
std::string panic_line(const Result& r);

// `text` contains `n` as a whole number (not part of a longer one).
bool mentions_number(const std::string& text, std::size_t n);

// `r` exited `exit_code` and its stderr says each of `said`; a failure
// names every difference, with what the process left.
::testing::AssertionResult exited_saying(const Result& r, int exit_code, std::initializer_list<std::string> said);

} // namespace kctest
