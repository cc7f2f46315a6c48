// One load of the kext as kextconfd follows it: which load (bundle id and
// load id), its schema (which cannot change within a load), the sequence
// numbers of its events, and what this daemon knows the kext holds, so a
// reload need not read every value back (docs/performance.md, benchmark 4).
// A new load (the kext was reloaded) starts a new session: everything known
// about the old one is forgotten.
//
// Threading: the io_context thread only.
#pragma once

#include "schema_cache.hpp"

#include <kextconf/kext_client.hpp>
#include <kextconf/schema.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace kextconf {

class KextSession {
public:
    // Where follow() looks for a table before describing it (not owned; may be null).
    void use_cache(const SchemaCache* cache) { cache_ = cache; }

    // Follows the load `st` describes unless it already does: takes its
    // schema from the cache when the kext's schema hash matches a saved
    // one, else reads it (once per load). `new_load` says the load was not
    // followed before. On error the session is unchanged.
    KextError follow(KextClient& kext, const kc_state& st, bool& new_load);
    // After follow() described a table (not from the cache): saves it in
    // the cache and returns true, once, so the caller saves the rest of what
    // follows from a new table (kextconfd's schema.json).
    bool save_described_schema();

    bool following() const { return schema_.has_value(); }
    bool follows(const std::string& bundle, std::uint32_t load_id) const
    {
        return schema_ && schema_->bundle_id == bundle && load_id_ == load_id;
    }
    bool follows(std::uint32_t load_id) const { return schema_ && load_id_ == load_id; }
    std::uint32_t load_id() const { return load_id_; }
    const std::string& bundle() const { return schema_->bundle_id; } // while following()
    const KextSchema& schema() const { return *schema_; }            // while following()
    const std::vector<proto::TunableDesc>& tunables() const { return schema_->tunables; }

    // The kext's values when this daemon knows them without reading: it
    // verified them and the kext still reports that generation and hash.
    const std::vector<proto::Value>* known_values(const kc_state& st) const;
    // This daemon verified that the kext holds `values` at `st`.
    void record(const kc_state& st, std::vector<proto::Value> values);
    // The values the kext holds, known without asking it: this daemon
    // verified them, and no event since says it changed (another writer's
    // commit, lost events, a stop or a new load). Null when not known.
    const std::vector<proto::Value>* values_held() const { return known_ && held_ ? &known_->values : nullptr; }
    // An event said the kext changed behind this daemon's back (or may have).
    void note_changed_elsewhere() { held_ = false; }
    // Whether this daemon has applied (or found in place) a configuration on
    // this load: only then can the kext drift from it.
    bool applied() const { return known_.has_value(); }
    // The generation the kext had when this daemon last committed or looked;
    // an event with another one is someone else's commit.
    std::uint64_t last_generation() const { return last_generation_; }

    // Where an event's sequence number stands.
    enum class Sequence {
        OtherLoad, // not this load's event: nothing to follow
        InOrder,   // the next one (or the first seen)
        Old,       // at or before the last one seen: a late event, not a gap
        Gap,       // after a gap: `lost` events never arrived
    };
    Sequence note_event(std::uint32_t load_id, std::uint32_t seq, std::uint32_t& lost);
    std::uint32_t last_seq() const { return last_seq_; }

private:
    struct Known {
        std::uint64_t generation = 0;
        std::uint64_t config_hash = 0;
        std::vector<proto::Value> values; // schema order
    };

    // Reads the table of `kext` from the cache or by describing it.
    KextError read_schema(KextClient& kext, KextSchema& out);

    const SchemaCache* cache_ = nullptr;
    std::optional<KextSchema> schema_;
    // Described and not yet saved: the table as the kext sent it, its hash.
    std::optional<std::pair<std::vector<kc_tunable_desc>, std::uint64_t>> unsaved_;
    bool described_ = false; // the table followed was described, and not yet saved
    std::uint32_t load_id_ = 0;
    std::uint32_t last_seq_ = 0; // 0: none seen yet (sequence numbers restart with each load)
    std::uint64_t last_generation_ = 0;
    std::optional<Known> known_;
    bool held_ = false; // known_ is what the kext holds, as far as its events tell
};

} // namespace kextconf
