#include <kextconf/apply_plan.hpp>

#include <kextconf/logging.hpp>
#include <kextconf/values.hpp>

namespace kextconf {

std::string describe_change(const proto::TunableDesc& desc, const proto::Value& v)
{
    if (proto::is_list_type(v.type)) {
        const std::uint32_t n = v.element_count();
        return desc.name + ": " + std::to_string(n) + (n == 1 ? " entry" : " entries");
    }
    return desc.name + "=" + private_value(format_value(desc, v)); // private in os_log (logging.hpp)
}

ApplyPlan plan_apply(const std::vector<proto::TunableDesc>& schema, const std::vector<proto::Value>& current,
                     const std::vector<proto::Value>& desired)
{
    ApplyPlan plan;
    std::vector<const proto::Value*> expected;
    for (std::size_t i = 0; i < schema.size() && i < current.size() && i < desired.size(); ++i) {
        expected.push_back(&desired[i]);
        if (current[i] == desired[i])
            continue;
        if (schema[i].flags & KC_TF_LOAD_ONLY) {
            expected.back() = &current[i];
            plan.load_only_pending.push_back(i);
            continue;
        }
        plan.changes.emplace_back(schema[i].index, &desired[i]);
        plan.changed.push_back(i);
        if (plan.changed.size() <= ApplyPlan::kSummaryChanges)
            plan.summary += (plan.summary.empty() ? "" : ", ") + describe_change(schema[i], desired[i]);
    }
    if (plan.changed.size() > ApplyPlan::kSummaryChanges)
        plan.summary += " and " + std::to_string(plan.changed.size() - ApplyPlan::kSummaryChanges) + " more";
    plan.expected_hash = proto::config_hash_of(expected);
    return plan;
}

} // namespace kextconf
