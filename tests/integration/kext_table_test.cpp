// kc_start refuses a table that breaks a rule, and its kernel log line names
// the kext, the tunable, its row and the rule.
#include "process.hpp"

#include <gtest/gtest.h>

namespace {

using namespace kctest;

TEST(KextTable, StartNamesTheTunableAndTheRuleItBroke)
{
    KextsimHost host(/*load_reference=*/false);
    ASSERT_TRUE(host.ready());
    const Result load = host.kextsim({"load", KEXTCONF_TEST_BADTABLE_KEXT_BUNDLE});
    EXPECT_NE(load.exit_code, 0) << load.describe();
    EXPECT_FALSE(host.is_loaded("org.kextconf.test.badtable"));
    const Result log = host.kextsim({"log"});
    ASSERT_EQ(log.exit_code, 0) << log.describe();
    EXPECT_NE(log.out.find("kextconf: org.kextconf.test.badtable: not starting: tunable \"pool_size\" (table row 1): "
                           "a uint64 needs min <= default <= max"),
              std::string::npos)
        << log.out;
}

} // namespace
