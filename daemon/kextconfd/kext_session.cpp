#include "kext_session.hpp"

namespace kextconf {

KextError KextSession::follow(KextClient& kext, const kc_state& st, bool& new_load)
{
    new_load = !follows(kext.bundle_id(), st.load_id);
    if (!new_load)
        return {};
    KextSchema schema;
    if (auto e = read_kext_schema(kext, schema))
        return e;
    schema_ = std::move(schema);
    load_id_ = st.load_id;
    last_seq_ = 0;
    last_generation_ = st.generation;
    known_.reset();
    return {};
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
