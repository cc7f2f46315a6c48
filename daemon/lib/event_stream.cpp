#include <kextconf/event_stream.hpp>

#include <kextconf/values.hpp>

namespace kextconf {

std::unique_ptr<KextEventStream> KextEventStream::open(const std::string& bundle_id, std::error_code& ec)
{
    std::unique_ptr<KextEventStream> s(new KextEventStream());
    s->bundle_id_ = bundle_id;
    s->kext_ = EventSocket::open(ec);
    if (!s->kext_)
        return nullptr;
    s->ctl_ = EventSocket::open(ec);
    if (!s->ctl_)
        return nullptr;
    // Control (de)registrations tell us when the kext comes and goes.
    if ((ec = s->ctl_->set_filter(kKevVendorApple, kKevSystemClass, kKevCtlSubclass)))
        return nullptr;
    s->try_subscribe();
    return s;
}

void KextEventStream::try_subscribe()
{
    if (vendor_code_ != 0)
        return;
    std::uint32_t code = 0;
    // ENOENT until the kext has been loaded once since boot.
    if (kext_->vendor_code(bundle_id_, code) || code == 0)
        return;
    if (!kext_->set_filter(code, KC_EVENT_CLASS, 0))
        vendor_code_ = code;
}

std::vector<int> KextEventStream::fds() const
{
    return {kext_->native_handle(), ctl_->native_handle()};
}

void KextEventStream::add_event(const KernEvent& e, std::vector<StreamItem>& out)
{
    if (e.vendor != vendor_code_ || e.kev_class != KC_EVENT_CLASS)
        return;
    auto ev = proto::decode_event(e.code, e.data);
    if (!ev) {
        StreamItem m;
        m.kind = StreamItem::Kind::Malformed;
        m.code = e.code;
        out.push_back(m);
        return;
    }
    // Sequence numbers restart with each load; a gap within one load means
    // the kext or the socket dropped events (kern_events are lossy).
    if (ev->hdr.load_id == load_id_ && last_seq_ != 0 && ev->hdr.seq > last_seq_ + 1) {
        StreamItem d;
        d.kind = StreamItem::Kind::Dropped;
        d.lost = ev->hdr.seq - last_seq_ - 1;
        out.push_back(d);
    }
    if (ev->hdr.load_id != load_id_ || ev->hdr.seq > last_seq_) {
        load_id_ = ev->hdr.load_id;
        last_seq_ = ev->hdr.seq;
    }
    StreamItem item;
    item.event = std::move(*ev);
    out.push_back(std::move(item));
}

std::vector<StreamItem> KextEventStream::drain(std::error_code& ec)
{
    std::vector<StreamItem> out;
    ec.clear();
    while (auto e = ctl_->read(ec)) {
        StreamItem item;
        item.kind = e->code == kKevCtlRegistered ? StreamItem::Kind::Registered : StreamItem::Kind::Deregistered;
        if (e->code == kKevCtlRegistered || e->code == kKevCtlDeregistered)
            out.push_back(item);
        if (e->code == kKevCtlRegistered)
            try_subscribe();
    }
    if (ec)
        return out;
    while (auto e = kext_->read(ec))
        add_event(*e, out);
    return out;
}

std::string describe_event(const proto::Event& e)
{
    const auto n = [](auto v) { return std::to_string(v); };
    switch (e.code) {
    case KC_EV_STARTED: return "started: version " + e.kext_version + ", generation " + n(e.generation);
    case KC_EV_STOPPING: return "stopping at generation " + n(e.generation);
    case KC_EV_APPLIED:
        return "applied: generation " + n(e.generation) + ", hash " + format_config_hash(e.config_hash) + ", " +
               n(e.changed) + " changed";
    case KC_EV_TUNABLE_CHANGED:
        return "tunable changed: " + (e.name.empty() ? "#" + n(e.index) + " (hidden)" : e.name) + " at generation " +
               n(e.generation);
    case KC_EV_CLIENT_CONNECTED:
    case KC_EV_CLIENT_DISCONNECTED:
        return std::string(e.code == KC_EV_CLIENT_CONNECTED ? "client connected" : "client disconnected") + ": pid " +
               n(e.client.pid) + ", uid " + n(e.client.uid) + ", " + (e.client.privileged ? "admin" : "query") +
               " control, " + counted(e.client.clients, "client") + " now";
    case KC_EV_OVERFLOW:
        return "overflow: the kext could not post " + n(e.overflow.lost) + " events (" +
               (e.overflow.reason == KC_OVF_RATE_LIMIT    ? "rate limit"
                : e.overflow.reason == KC_OVF_POST_FAILED ? "kev_msg_post failed"
                                                          : "reason " + n(e.overflow.reason)) +
               "), " + n(e.overflow.lost_total) + " since load";
    case KC_EV_HEARTBEAT:
        return "heartbeat: generation " + n(e.generation) + ", " + counted(e.heartbeat.requests, "request") + ", " +
               n(e.heartbeat.rejections) + " rejected, " + counted(e.heartbeat.commits, "commit") + ", " +
               counted(e.heartbeat.events_posted, "event") + " posted, " + n(e.heartbeat.events_dropped) +
               " dropped, " + counted(e.heartbeat.clients, "client");
    default: return "event " + n(e.code) + " (newer than this kextconfctl)";
    }
}

std::string format_item(const StreamItem& item)
{
    switch (item.kind) {
    case StreamItem::Kind::Dropped:
        return "dropped: " + std::to_string(item.lost) + " events never arrived (sequence gap)";
    case StreamItem::Kind::Registered: return "kernel control registered";
    case StreamItem::Kind::Deregistered: return "kernel control deregistered";
    case StreamItem::Kind::Malformed: return "malformed event, code " + std::to_string(item.code);
    case StreamItem::Kind::Event: break;
    }
    return "seq " + std::to_string(item.event.hdr.seq) + " (load " + std::to_string(item.event.hdr.load_id) + ") " +
           describe_event(item.event);
}

nlohmann::json item_json(const StreamItem& item)
{
    using nlohmann::json;
    switch (item.kind) {
    case StreamItem::Kind::Dropped: return {{"event", "dropped"}, {"lost", item.lost}};
    case StreamItem::Kind::Registered: return {{"event", "control-registered"}};
    case StreamItem::Kind::Deregistered: return {{"event", "control-deregistered"}};
    case StreamItem::Kind::Malformed: return {{"event", "malformed"}, {"code", item.code}};
    case StreamItem::Kind::Event: break;
    }
    const auto& e = item.event;
    json j{{"event", proto::event_name(e.code)}, {"code", e.code}, {"seq", e.hdr.seq}, {"load_id", e.hdr.load_id}};
    switch (e.code) {
    case KC_EV_STARTED: j["kext_version"] = e.kext_version, j["generation"] = e.generation; break;
    case KC_EV_STOPPING: j["generation"] = e.generation; break;
    case KC_EV_APPLIED:
        j["generation"] = e.generation, j["config_hash"] = format_config_hash(e.config_hash), j["changed"] = e.changed;
        break;
    case KC_EV_TUNABLE_CHANGED: j["generation"] = e.generation, j["index"] = e.index, j["name"] = e.name; break;
    case KC_EV_CLIENT_CONNECTED:
    case KC_EV_CLIENT_DISCONNECTED:
        j["pid"] = e.client.pid, j["uid"] = e.client.uid, j["unit"] = e.client.unit;
        j["privileged"] = e.client.privileged != 0, j["clients"] = e.client.clients;
        break;
    case KC_EV_OVERFLOW:
        j["lost"] = e.overflow.lost, j["reason"] = e.overflow.reason, j["lost_total"] = e.overflow.lost_total;
        break;
    case KC_EV_HEARTBEAT:
        j["generation"] = e.generation, j["requests"] = e.heartbeat.requests;
        j["rejections"] = e.heartbeat.rejections, j["commits"] = e.heartbeat.commits;
        j["events_posted"] = e.heartbeat.events_posted, j["events_dropped"] = e.heartbeat.events_dropped;
        j["clients"] = e.heartbeat.clients, j["interval_ms"] = e.heartbeat.interval_ms;
        break;
    default: break;
    }
    return j;
}

} // namespace kextconf
