#include "kext_session.hpp"

#include <kextconf/logging.hpp>

namespace kextconf {

KextError KextSession::follow(KextClient& kext, const kc_state& st, bool& new_load)
{
    new_load = !follows(kext.bundle_id(), st.load_id);
    if (!new_load)
        return {};
    KextSchema schema;
    if (auto e = read_schema(kext, schema))
        return e;
    schema_ = std::move(schema);
    load_id_ = st.load_id;
    last_seq_ = 0;
    last_generation_ = st.generation;
    known_.reset();
    held_ = false;
    return {};
}

KextError KextSession::read_schema(KextClient& kext, KextSchema& out)
{
    out.bundle_id = kext.bundle_id();
    out.kext_version = proto::field_string(kext.hello().kext_version);
    out.proto_version = kext.hello().proto_version;
    const auto hash = kext.schema_hash(); // version 2 kexts only
    if (hash && cache_)
        if (auto saved = cache_->load(out.bundle_id, out.kext_version, *hash)) {
            for (const auto& w : *saved) {
                auto d = proto::TunableDesc::from_wire(w);
                if (!d) {
                    out.tunables.clear();
                    break; // a table the kext could not have sent: describe it
                }
                out.tunables.push_back(std::move(*d));
            }
            if (out.tunables.size() == saved->size()) {
                logcat::kext().info("{} {}: schema hash {:016x} matches {}; using its {} tunables without describing",
                                    out.bundle_id, out.kext_version, *hash, cache_->path(out.bundle_id),
                                    out.tunables.size());
                kext.know_tunables(out.tunables);
                unsaved_.reset();
                described_ = false;
                return {};
            }
        }
    std::vector<kc_tunable_desc> wire;
    if (auto e = kext.describe(out.tunables, &wire))
        return e;
    // Saved only when the kext's hash is of the table it described (a
    // table that changed between hello and describe is not cached).
    if (hash && proto::schema_hash(wire) == *hash)
        unsaved_.emplace(std::move(wire), *hash);
    else
        unsaved_.reset();
    described_ = true;
    return {};
}

bool KextSession::save_described_schema()
{
    if (!schema_ || !described_)
        return false;
    if (cache_ && unsaved_)
        cache_->store(schema_->bundle_id, schema_->kext_version, unsaved_->second, unsaved_->first);
    unsaved_.reset();
    described_ = false;
    return true;
}

const std::vector<proto::Value>* KextSession::known_values(const kc_state& st) const
{
    const bool unchanged =
        known_ && follows(st.load_id) && known_->generation == st.generation && known_->config_hash == st.config_hash;
    return unchanged ? &known_->values : nullptr;
}

void KextSession::record(const kc_state& st, std::vector<proto::Value> values)
{
    last_generation_ = st.generation;
    known_ = Known{st.generation, st.config_hash, std::move(values)};
    held_ = true;
}

KextSession::Sequence KextSession::note_event(std::uint32_t load_id, std::uint32_t seq, std::uint32_t& lost)
{
    lost = 0;
    if (!follows(load_id))
        return Sequence::OtherLoad;
    // An older or repeated number is not a gap (no unsigned underflow): a
    // kext without ordered posting can deliver concurrent events out of order.
    if (last_seq_ != 0 && seq <= last_seq_)
        return Sequence::Old;
    const bool gap = last_seq_ != 0 && seq != last_seq_ + 1;
    if (gap)
        lost = seq - last_seq_ - 1;
    last_seq_ = seq;
    return gap ? Sequence::Gap : Sequence::InOrder;
}

} // namespace kextconf
