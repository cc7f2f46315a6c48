#include <kextconf/values.hpp>

#include <gtest/gtest.h>

using namespace kextconf;
using proto::TunableDesc;
using proto::Value;

namespace {

TunableDesc desc(std::uint32_t index, std::uint32_t type, Value def, std::vector<std::string> names = {})
{
    TunableDesc d;
    d.index = index;
    d.type = type;
    d.def = std::move(def);
    d.enum_names = std::move(names);
    d.name = "t" + std::to_string(index);
    return d;
}

TEST(Values, FormatsEachType)
{
    EXPECT_EQ(format_value(desc(0, KC_TYPE_BOOL, Value::of_bool(false)), Value::of_bool(true)), "true");
    EXPECT_EQ(format_value(desc(0, KC_TYPE_INT64, Value::of_int(0)), Value::of_int(-5)), "-5");
    EXPECT_EQ(format_value(desc(0, KC_TYPE_ENUM, Value::of_enum(0), {"a", "b"}), Value::of_enum(1)), "b");
    EXPECT_EQ(format_value(desc(0, KC_TYPE_STRING, Value::of_string("")), Value::of_string("q\"x")), "\"q\\\"x\"");
    // An enum index the descriptor does not name prints as a number, not garbage.
    EXPECT_EQ(format_value(desc(0, KC_TYPE_ENUM, Value::of_enum(0), {"a"}), Value::of_enum(7)), "7");
}

TEST(Values, CountsAgreeWithTheirNouns)
{
    EXPECT_EQ(counted(0, "client"), "0 clients");
    EXPECT_EQ(counted(1, "client"), "1 client");
    EXPECT_EQ(counted(2, "event"), "2 events");
}

TEST(Values, DesiredIsDefaultsOverlaidWithFile)
{
    const std::vector<TunableDesc> schema = {desc(0, KC_TYPE_BOOL, Value::of_bool(true)),
                                             desc(1, KC_TYPE_INT64, Value::of_int(10))};
    const auto v = desired_values(schema, {{1, Value::of_int(20)}});
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0], Value::of_bool(true));
    EXPECT_EQ(v[1], Value::of_int(20));
    EXPECT_EQ(find_desc(schema, 1), &schema[1]);
    EXPECT_EQ(find_desc(schema, 5), nullptr);
}

} // namespace
