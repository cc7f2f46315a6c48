// What one apply sends to the kext: the change set between the values the
// running kext holds and the values the configuration file wants.
//
// The rule: only tunables whose value differs are sent, on every apply,
// first contact with a kext load included (a kext that already holds the
// file's values gets no transaction at all). Load-only tunables are never
// sent (the kext refuses them in a transaction); they keep their current
// value until the kext is next loaded. So a 100,000-entry list costs its
// chunks only when it changed.
//
// Pure functions; safe to call from any thread.
#pragma once

#include <kextconf/codec.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kextconf {

// Refers to the `current` and `desired` values it was planned from (no
// copies: a list may hold 100,000 entries); they must outlive it.
struct ApplyPlan {
    // Tunable index and its new value, in index order: the transaction.
    std::vector<std::pair<std::uint32_t, const proto::Value*>> changes;
    // The config_hash of what the kext holds once the transaction commits:
    // the file's values, load-only tunables at their current value.
    std::uint64_t expected_hash = 0;
    // Names of load-only tunables whose wanted value differs from the
    // kext's (takes effect at the next kext load).
    std::vector<std::size_t> load_only_pending; // schema positions
    // Schema positions of `changes`, in the same order.
    std::vector<std::size_t> changed;
    // "max_clients=128, blocked_ports: 100000 entries": for the one log line.
    // Names the first kSummaryChanges changes and counts the rest ("and 248
    // more"): a line of 256 values is read by nobody, and formatting them was
    // a sixth of a 256-tunable reload's instructions (docs/performance.md).
    std::string summary;
    static constexpr std::size_t kSummaryChanges = 8;
};

// `current` and `desired` are in schema order (one value per descriptor).
ApplyPlan plan_apply(const std::vector<proto::TunableDesc>& schema, const std::vector<proto::Value>& current,
                     const std::vector<proto::Value>& desired);

// How a change is named in logs: "name=value" for scalars and strings,
// "name: N entries" for lists (a list's elements do not belong in a log line).
std::string describe_change(const proto::TunableDesc& desc, const proto::Value& v);

} // namespace kextconf
