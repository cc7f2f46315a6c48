#include "apply_plan.hpp"

#include "values.hpp"

namespace kextconf {

std::string describe_change(const proto::TunableDesc& desc, const proto::Value& v)
{
    if (proto::is_list_type(v.type)) {
        const std::uint32_t n = v.element_count();
        return desc.name + ": " + std::to_string(n) + (n == 1 ? " entry" : " entries");
    }
    return desc.name + "=" + format_value(desc, v);
}

ApplyPlan plan_apply(const std::vector<proto::TunableDesc>& schema, const std::vector<proto::Value>& current,
                     const std::vector<proto::Value>& desired)
{
    ApplyPlan plan;
    plan.expected = desired;
    for (std::size_t i = 0; i < schema.size() && i < current.size() && i < desired.size(); ++i) {
        if (current[i] == desired[i])
            continue;
        if (schema[i].flags & KC_TF_LOAD_ONLY) {
            plan.expected[i] = current[i];
            plan.load_only_pending.push_back(i);
            continue;
        }
        plan.changes.emplace_back(schema[i].index, desired[i]);
        plan.changed.push_back(i);
        plan.summary += (plan.summary.empty() ? "" : ", ") + describe_change(schema[i], desired[i]);
    }
    return plan;
}

} // namespace kextconf
