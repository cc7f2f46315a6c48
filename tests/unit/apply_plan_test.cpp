// plan_apply: the change set kextconfd sends is exactly what differs from
// the kext, never a load-only tunable, and names lists by their size.
#include <kextconf/apply_plan.hpp>
#include <kextconf/logging.hpp>

#include <gtest/gtest.h>

namespace {

using namespace kextconf;
using proto::TunableDesc;
using proto::Value;

TunableDesc desc(std::uint32_t index, std::string name, std::uint32_t type, std::uint32_t flags = 0)
{
    TunableDesc d;
    d.index = index;
    d.type = type;
    d.flags = flags;
    d.name = std::move(name);
    d.def.type = type;
    return d;
}

const std::vector<TunableDesc> kSchema = {desc(0, "level", KC_TYPE_INT64), desc(1, "ports", KC_TYPE_INT64_LIST),
                                          desc(2, "paths", KC_TYPE_STRING_LIST),
                                          desc(3, "boot", KC_TYPE_INT64, KC_TF_LOAD_ONLY)};

TEST(ApplyPlan, NothingDiffersNothingSent)
{
    const std::vector<Value> v = {Value::of_int(1), Value::of_ints({1, 2}), Value::of_strings({"a"}), Value::of_int(0)};
    const ApplyPlan p = plan_apply(kSchema, v, v);
    EXPECT_TRUE(p.changes.empty());
    EXPECT_TRUE(p.summary.empty());
    EXPECT_TRUE(p.load_only_pending.empty());
    EXPECT_EQ(p.expected_hash, proto::config_hash(v));
}

TEST(ApplyPlan, OnlyChangesAreSentAndListsNamedBySize)
{
    const std::vector<Value> current = {Value::of_int(1), Value::of_ints(std::vector<std::int64_t>(100000, 7)),
                                        Value::of_strings({"a"}), Value::of_int(0)};
    std::vector<Value> desired = current;
    desired[0] = Value::of_int(5);
    desired[2] = Value::of_strings({"b"});
    const ApplyPlan p = plan_apply(kSchema, current, desired);
    ASSERT_EQ(p.changes.size(), 2u);
    EXPECT_EQ(p.changes[0].first, 0u);
    EXPECT_EQ(*p.changes[0].second, Value::of_int(5));
    EXPECT_EQ(p.changes[1].first, 2u);
    EXPECT_EQ(p.changes[1].second, &desired[2]) << "refers to the desired value, not a copy";
    // Values are private in os_log (logging.hpp); list sizes and names are not.
    EXPECT_EQ(p.summary, "level=" + private_value("5") + ", paths: 1 entry");
    EXPECT_EQ(p.expected_hash, proto::config_hash(desired));

    desired[1] = Value::of_ints(std::vector<std::int64_t>(100000, 8));
    EXPECT_EQ(plan_apply(kSchema, current, desired).summary,
              "level=" + private_value("5") + ", ports: 100000 entries, paths: 1 entry");
}

TEST(ApplyPlan, SummaryNamesTheFirstChangesAndCountsTheRest)
{
    std::vector<TunableDesc> schema;
    std::vector<Value> current, desired;
    for (std::uint32_t i = 0; i < 11; ++i) {
        schema.push_back(desc(i, "t" + std::to_string(i), KC_TYPE_INT64));
        current.push_back(Value::of_int(0));
        desired.push_back(Value::of_int(i == 4 ? 0 : 100 + i)); // t4 unchanged: 10 changes
    }
    const ApplyPlan p = plan_apply(schema, current, desired);
    ASSERT_EQ(p.changes.size(), 10u) << "every change is sent, whatever the summary names";
    std::string named;
    for (std::uint32_t i : {0u, 1u, 2u, 3u, 5u, 6u, 7u, 8u})
        named += (named.empty() ? "" : ", ") + ("t" + std::to_string(i)) + "=" + private_value(std::to_string(100 + i));
    EXPECT_EQ(p.summary, named + " and 2 more");

    desired[9] = desired[10] = Value::of_int(0); // exactly kSummaryChanges: no count
    EXPECT_EQ(plan_apply(schema, current, desired).summary, named);
}

TEST(ApplyPlan, LoadOnlyIsNeverSentAndKeepsItsCurrentValueInTheHash)
{
    const std::vector<Value> current = {Value::of_int(1), Value::of_ints({}), Value::of_strings({}), Value::of_int(0)};
    std::vector<Value> desired = current;
    desired[3] = Value::of_int(9);
    const ApplyPlan p = plan_apply(kSchema, current, desired);
    EXPECT_TRUE(p.changes.empty());
    ASSERT_EQ(p.load_only_pending.size(), 1u);
    EXPECT_EQ(p.load_only_pending[0], 3u);
    EXPECT_EQ(p.expected_hash, proto::config_hash(current));
}

} // namespace
