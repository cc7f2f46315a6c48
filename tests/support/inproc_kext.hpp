// The reference kext loaded into the test process by kextsim's in-process
// mode (kextsim_inproc_test, fault_sweep_test): the names those tests drive it
// by, a listener for its events, and what a failed start must leave (nothing).
// `using namespace kctest::inproc;`.
#pragma once

#include <kextconf/defaults.hpp>
#include <kextsim/darwin.hpp>
#include <kextsim/inproc.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace kctest::inproc {

using kextsim::InProcessControl;
using kextsim::InProcessEvents;
using kextsim::InProcessHost;
using kextsim::kSysprotoControl;

constexpr const char* kBundleId = KEXTCONF_DEFAULT_KEXT;
constexpr const char* kQuery = KEXTCONF_DEFAULT_KEXT ".query";

// Filters `events` to the kext's own (its bundle id's vendor code), of class
// `kev_class` (0: any); 0 or SIOCGKEVVENDOR's errno.
inline int listen_to_kext(InProcessEvents& events, const std::string& bundle_id, std::uint32_t kev_class = 0)
{
    std::uint32_t vendor = 0;
    if (const int e = events.vendor_code(bundle_id, vendor); e != 0)
        return e;
    events.set_filter(vendor, kev_class, 0);
    return 0;
}

// A start that failed (`err`: what loading said) left nothing behind: no
// control, no OID, no memory.
inline void expect_failed_start_left_nothing(const std::string& err)
{
    EXPECT_NE(err.find("start returned"), std::string::npos) << err;
    EXPECT_EQ(err.find("leak"), std::string::npos) << err;
    EXPECT_EQ(err.find("still registered"), std::string::npos) << err;
    int e = 0;
    EXPECT_FALSE(InProcessControl::connect(kBundleId, 0, e));
    EXPECT_EQ(e, ENOENT);
}

} // namespace kctest::inproc
