// Unsupported KPIs fail loudly: a kext that links against a KPI kextsim does
// not provide is refused at load with the symbol named, and the refusal
// leaves the host running and nothing loaded.
#include "process.hpp"

#include <gtest/gtest.h>

namespace {

using namespace kctest;

TEST(KextsimUnsupported, MissingKpiSymbolRefusesTheLoadByName)
{
    KextsimHost host(false);
    ASSERT_TRUE(host.ready());
    const Result r = host.kextsim({"load", KEXTCONF_TEST_UNSUPPORTED_KEXT_BUNDLE});
    EXPECT_TRUE(exited_saying(r, 1, {"mbuf_freem", "KPI kextsim does not provide"}));
    EXPECT_FALSE(host.is_loaded("org.kextconf.test.unsupported"));
    // The host is unharmed: the reference kext still loads.
    const Result ok = host.kextsim({"load", kext_bundle()});
    EXPECT_EQ(ok.exit_code, 0) << ok.describe();
    EXPECT_TRUE(host.is_loaded());
}

} // namespace
