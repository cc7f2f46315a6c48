// Private values in log lines (daemon/lib/logging.hpp): marked for os_log,
// plain on stderr, and a value cannot forge the markers.
#include <kextconf/logging.hpp>

#include <gtest/gtest.h>

using namespace kextconf;

namespace {

TEST(Logging, PrivateValueIsMarkedAndStrippedForStderr)
{
    const std::string line = "label=" + private_value("\"secret\"") + " applied";
    EXPECT_EQ(line, std::string("label=\x02\"secret\"\x03 applied"));
    EXPECT_EQ(detail::strip_private_markers(line), "label=\"secret\" applied");
}

TEST(Logging, ValueCannotCloseItsOwnPrivateSpan)
{
    // A configured string that contains the end marker would otherwise make
    // the rest of the value public in the unified log.
    const std::string v = private_value(std::string("a\x03public\x02") + "b");
    EXPECT_EQ(v, std::string("\x02"
                             "apublicb\x03"));
}

} // namespace
