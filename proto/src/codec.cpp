#include <kextconf/codec.hpp>

#include <array>

namespace kextconf::proto {

namespace {

constexpr std::array<std::string_view, KC_TYPE__COUNT> kTypeNames = {
    "unknown", "bool", "int64", "uint64", "enum", "string", "int64_list", "string_list",
};

void put_bytes(Bytes& out, const void* p, std::size_t n)
{
    const auto* b = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

} // namespace

std::string_view type_name(std::uint32_t type)
{
    return type < kTypeNames.size() ? kTypeNames[type] : "unknown";
}

std::optional<std::uint32_t> type_from_name(std::string_view name)
{
    for (std::uint32_t t = 1; t < kTypeNames.size(); ++t)
        if (kTypeNames[t] == name)
            return t;
    return std::nullopt;
}

std::string_view reason_text(std::uint32_t reason)
{
    switch (reason) {
    case KC_R_NONE: return "no error";
    case KC_R_BAD_LENGTH: return "malformed request length";
    case KC_R_UNKNOWN_OPTION: return "unknown option";
    case KC_R_UNKNOWN_TUNABLE: return "unknown tunable";
    case KC_R_TYPE_MISMATCH: return "wrong type";
    case KC_R_OUT_OF_RANGE: return "value out of range";
    case KC_R_TOO_LONG: return "value too long";
    case KC_R_BAD_ENUM: return "value is not one of the enum's names";
    case KC_R_BAD_STRING: return "malformed string";
    case KC_R_STALE_GENERATION: return "configuration changed by another writer (stale generation)";
    case KC_R_NO_TRANSACTION: return "no transaction open";
    case KC_R_TRANSACTION_OPEN: return "a transaction is already open on this connection";
    case KC_R_NOT_PERMITTED: return "not permitted on this control";
    case KC_R_LOAD_ONLY: return "tunable can only change at kext load";
    case KC_R_NO_MEMORY: return "kernel memory allocation failed";
    case KC_R_BAD_OFFSET: return "list chunk out of order";
    case KC_R_INCOMPLETE: return "list value incomplete at commit";
    default: return "unknown reason";
    }
}

std::string_view option_name(std::uint32_t opt)
{
    switch (opt) {
    case KC_OPT_HELLO: return "hello";
    case KC_OPT_DESCRIBE: return "describe";
    case KC_OPT_GET: return "get";
    case KC_OPT_STATE: return "state";
    case KC_OPT_TXN_BEGIN: return "begin";
    case KC_OPT_TXN_SET: return "set";
    case KC_OPT_TXN_COMMIT: return "commit";
    case KC_OPT_TXN_ABORT: return "abort";
    case KC_OPT_LAST_ERROR: return "last-error";
    case KC_OPT_COUNTERS: return "counters";
    case KC_OPT_DESCRIBE_ALL: return "describe-all";
    default: return "unknown";
    }
}

std::string_view event_name(std::uint32_t code)
{
    switch (code) {
    case KC_EV_STARTED: return "started";
    case KC_EV_STOPPING: return "stopping";
    case KC_EV_APPLIED: return "applied";
    case KC_EV_TUNABLE_CHANGED: return "tunable-changed";
    case KC_EV_CLIENT_CONNECTED: return "client-connected";
    case KC_EV_CLIENT_DISCONNECTED: return "client-disconnected";
    case KC_EV_OVERFLOW: return "overflow";
    case KC_EV_HEARTBEAT: return "heartbeat";
    default: return "unknown";
    }
}

bool is_list_type(std::uint32_t type)
{
    return type == KC_TYPE_INT64_LIST || type == KC_TYPE_STRING_LIST;
}

Value Value::of_bool(bool b)
{
    Value v;
    v.type = KC_TYPE_BOOL;
    v.scalar.i = b ? 1 : 0;
    return v;
}
Value Value::of_int(std::int64_t x)
{
    Value v;
    v.type = KC_TYPE_INT64;
    v.scalar.i = x;
    return v;
}
Value Value::of_uint(std::uint64_t x)
{
    Value v;
    v.type = KC_TYPE_UINT64;
    v.scalar.u = x;
    return v;
}
Value Value::of_enum(std::uint32_t index)
{
    Value v;
    v.type = KC_TYPE_ENUM;
    v.scalar.i = index;
    return v;
}
Value Value::of_string(std::string s)
{
    Value v;
    v.type = KC_TYPE_STRING;
    v.str = std::move(s);
    return v;
}
Value Value::of_ints(std::vector<std::int64_t> x)
{
    Value v;
    v.type = KC_TYPE_INT64_LIST;
    v.ints = std::move(x);
    return v;
}
Value Value::of_strings(std::vector<std::string> x)
{
    Value v;
    v.type = KC_TYPE_STRING_LIST;
    v.strs = std::move(x);
    return v;
}

std::uint32_t Value::element_count() const
{
    switch (type) {
    case KC_TYPE_STRING: return static_cast<std::uint32_t>(str.size());
    case KC_TYPE_INT64_LIST: return static_cast<std::uint32_t>(ints.size());
    case KC_TYPE_STRING_LIST: return static_cast<std::uint32_t>(strs.size());
    default: return 1;
    }
}

bool operator==(const Value& a, const Value& b)
{
    if (a.type != b.type)
        return false;
    switch (a.type) {
    case KC_TYPE_STRING: return a.str == b.str;
    case KC_TYPE_INT64_LIST: return a.ints == b.ints;
    case KC_TYPE_STRING_LIST: return a.strs == b.strs;
    default: return a.scalar.u == b.scalar.u;
    }
}

std::optional<TunableDesc> TunableDesc::from_wire(const kc_tunable_desc& d)
{
    if (d.type == 0 || d.type >= KC_TYPE__COUNT)
        return std::nullopt;
    TunableDesc t;
    t.index = d.index;
    t.type = d.type;
    t.flags = d.flags;
    t.max_count = d.max_count;
    t.min = d.min;
    t.max = d.max;
    t.name = field_string(d.name);
    t.unit = field_string(d.unit);
    t.help = field_string(d.help);
    const std::string names = field_string(d.enum_names);
    if (d.type == KC_TYPE_ENUM) {
        std::size_t start = 0;
        while (start <= names.size()) {
            const std::size_t bar = names.find('|', start);
            t.enum_names.push_back(names.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
            if (bar == std::string::npos)
                break;
            start = bar + 1;
        }
    }
    t.def.type = d.type;
    if (d.type == KC_TYPE_STRING)
        t.def.str = field_string(d.def_string);
    else if (!is_list_type(d.type))
        t.def.scalar = d.def;
    return t;
}

kc_tunable_desc TunableDesc::to_wire() const
{
    kc_tunable_desc d{};
    d.index = index;
    d.type = type;
    d.flags = flags;
    d.max_count = max_count;
    d.min = min;
    d.max = max;
    d.def = def.scalar;
    set_field_string(d.name, name);
    set_field_string(d.unit, unit);
    set_field_string(d.help, help);
    std::string joined;
    for (std::size_t i = 0; i < enum_names.size(); ++i)
        joined += (i ? "|" : "") + enum_names[i];
    set_field_string(d.enum_names, joined);
    if (type == KC_TYPE_STRING)
        set_field_string(d.def_string, def.str);
    return d;
}

namespace {

// One record at the start of `in` into `out`; its size, or 0 if malformed.
std::size_t decode_desc_record(ByteView in, kc_tunable_desc& out)
{
    kc_desc_record r;
    if (in.size() < sizeof r)
        return 0;
    std::memcpy(&r, in.data(), sizeof r);
    const std::size_t size = KC_DESC_RECORD_SIZE(&r);
    if (size > in.size())
        return 0;
    out = kc_tunable_desc{};
    out.index = r.index;
    out.type = r.type;
    out.flags = r.flags;
    out.max_count = r.max_count;
    out.min = r.min;
    out.max = r.max;
    out.def = r.def;
    const auto* at = reinterpret_cast<const char*>(in.data() + sizeof r);
    const auto take = [&](char* field, std::size_t field_size, std::size_t len) {
        if (len >= field_size || std::memchr(at, '\0', len) != nullptr)
            return false;
        std::memcpy(field, at, len);
        at += len;
        return true;
    };
    const bool ok = take(out.name, sizeof out.name, r.name_len) && take(out.unit, sizeof out.unit, r.unit_len) &&
                    take(out.help, sizeof out.help, r.help_len) &&
                    take(out.enum_names, sizeof out.enum_names, r.enum_names_len) &&
                    take(out.def_string, sizeof out.def_string, r.def_string_len);
    return ok ? size : 0;
}

} // namespace

std::optional<DescribeBatch> decode_describe_batch(ByteView in)
{
    auto h = decode<kc_describe_batch>(in, true);
    if (!h)
        return std::nullopt;
    auto descs = decode_desc_records(in.subspan(sizeof(kc_describe_batch)));
    if (!descs || descs->size() != h->count)
        return std::nullopt;
    return DescribeBatch{*h, std::move(*descs)};
}

Bytes encode_desc_records(const std::vector<kc_tunable_desc>& descs)
{
    Bytes out;
    for (const auto& d : descs) {
        const kc_desc_record r = kc_desc_record_of(&d);
        const std::size_t at = out.size();
        out.resize(at + KC_DESC_RECORD_SIZE(&r));
        kc_desc_record_put(&d, out.data() + at, out.size() - at);
    }
    return out;
}

std::optional<std::vector<kc_tunable_desc>> decode_desc_records(ByteView in)
{
    std::vector<kc_tunable_desc> out;
    while (!in.empty()) {
        kc_tunable_desc d;
        const std::size_t n = decode_desc_record(in, d);
        if (n == 0)
            return std::nullopt;
        out.push_back(d);
        in = in.subspan(n);
    }
    return out;
}

std::uint64_t schema_hash(const std::vector<kc_tunable_desc>& descs)
{
    std::uint64_t h = KC_HASH_INIT;
    for (const auto& d : descs)
        h = kc_schema_hash_add(h, &d);
    return h;
}

std::vector<Bytes> pack_set_options(std::vector<Bytes> chunks, std::size_t max_len)
{
    std::vector<Bytes> out;
    for (auto& c : chunks) {
        if (out.empty() || out.back().size() + c.size() > max_len)
            out.push_back(std::move(c));
        else
            out.back().insert(out.back().end(), c.begin(), c.end());
    }
    return out;
}

Bytes encode_payload(const Value& v)
{
    Bytes out;
    switch (v.type) {
    case KC_TYPE_STRING: put_bytes(out, v.str.data(), v.str.size()); break;
    case KC_TYPE_INT64_LIST: put_bytes(out, v.ints.data(), v.ints.size() * sizeof(std::int64_t)); break;
    case KC_TYPE_STRING_LIST:
        for (const auto& s : v.strs)
            put_bytes(out, s.c_str(), s.size() + 1);
        break;
    default: put_bytes(out, &v.scalar, sizeof v.scalar); break;
    }
    return out;
}

std::vector<Bytes> encode_set_chunks(std::uint32_t index, const Value& v, std::size_t max_len)
{
    std::vector<Bytes> chunks;
    const std::size_t room = max_len > sizeof(kc_value_hdr) ? max_len - sizeof(kc_value_hdr) : 0;
    auto emit = [&](std::uint32_t offset, std::uint32_t count, const void* data, std::size_t len) {
        kc_value_hdr h{index, v.type, offset, count, v.element_count(), static_cast<std::uint32_t>(len)};
        Bytes b = encode(h);
        put_bytes(b, data, len);
        chunks.push_back(std::move(b));
    };
    switch (v.type) {
    case KC_TYPE_STRING: {
        if (v.str.size() > room)
            return {}; // strings are never split: the kext validates them whole
        emit(0, static_cast<std::uint32_t>(v.str.size()), v.str.data(), v.str.size());
        break;
    }
    case KC_TYPE_INT64_LIST: {
        const std::size_t per = room / sizeof(std::int64_t);
        if (per == 0)
            return {};
        std::size_t off = 0;
        do {
            const std::size_t n = std::min(per, v.ints.size() - off);
            emit(static_cast<std::uint32_t>(off), static_cast<std::uint32_t>(n), v.ints.data() + off,
                 n * sizeof(std::int64_t));
            off += n;
        } while (off < v.ints.size());
        break;
    }
    case KC_TYPE_STRING_LIST: {
        std::size_t off = 0;
        do {
            Bytes payload;
            std::size_t n = 0;
            while (off + n < v.strs.size() && payload.size() + v.strs[off + n].size() + 1 <= room) {
                put_bytes(payload, v.strs[off + n].c_str(), v.strs[off + n].size() + 1);
                ++n;
            }
            if (n == 0 && off < v.strs.size())
                return {};
            emit(static_cast<std::uint32_t>(off), static_cast<std::uint32_t>(n), payload.data(), payload.size());
            off += n;
        } while (off < v.strs.size());
        break;
    }
    default: emit(0, 1, &v.scalar, sizeof v.scalar); break;
    }
    return chunks;
}

std::optional<ValueChunk> decode_value_chunk(ByteView in)
{
    auto h = decode<kc_value_hdr>(in, true);
    if (!h || in.size() - sizeof(kc_value_hdr) != h->length)
        return std::nullopt;
    return ValueChunk{*h, in.subspan(sizeof(kc_value_hdr))};
}

bool append_chunk(Value& into, const ValueChunk& c)
{
    if (c.hdr.type != into.type)
        return false;
    const auto* p = c.payload.data();
    switch (into.type) {
    case KC_TYPE_STRING:
        if (c.payload.size() != c.hdr.count)
            return false;
        into.str.append(reinterpret_cast<const char*>(p), c.payload.size());
        return true;
    case KC_TYPE_INT64_LIST: {
        if (c.payload.size() != std::size_t{c.hdr.count} * sizeof(std::int64_t) || c.hdr.offset != into.ints.size())
            return false;
        if (c.hdr.count == 0)
            return true; // an empty list (or chunk); nothing to copy
        const std::size_t old = into.ints.size();
        into.ints.resize(old + c.hdr.count);
        std::memcpy(into.ints.data() + old, p, c.payload.size());
        return true;
    }
    case KC_TYPE_STRING_LIST: {
        if (c.hdr.offset != into.strs.size())
            return false;
        std::size_t pos = 0;
        for (std::uint32_t i = 0; i < c.hdr.count; ++i) {
            const auto* start = reinterpret_cast<const char*>(p + pos);
            const std::size_t n = strnlen(start, c.payload.size() - pos);
            if (pos + n >= c.payload.size())
                return false;
            into.strs.emplace_back(start, n);
            pos += n + 1;
        }
        return pos == c.payload.size();
    }
    default:
        if (c.payload.size() != sizeof(kc_scalar) || c.hdr.count != 1)
            return false;
        std::memcpy(&into.scalar, p, sizeof(kc_scalar));
        return true;
    }
}

namespace {
// One value's part of the config hash: the bytes encode_payload would give,
// hashed as they are walked (a long list is not copied first).
std::uint64_t hash_value(std::uint64_t h, std::uint32_t index, const Value& v)
{
    switch (v.type) {
    case KC_TYPE_STRING:
        h = kc_hash_value_begin(h, index, v.type, static_cast<std::uint32_t>(v.str.size()));
        return kc_hash_bytes(h, v.str.data(), v.str.size());
    case KC_TYPE_INT64_LIST: {
        const std::size_t n = v.ints.size() * sizeof(std::int64_t);
        h = kc_hash_value_begin(h, index, v.type, static_cast<std::uint32_t>(n));
        return kc_hash_bytes(h, v.ints.data(), n);
    }
    case KC_TYPE_STRING_LIST: {
        std::size_t n = 0;
        for (const auto& s : v.strs)
            n += s.size() + 1;
        h = kc_hash_value_begin(h, index, v.type, static_cast<std::uint32_t>(n));
        for (const auto& s : v.strs)
            h = kc_hash_bytes(h, s.c_str(), s.size() + 1);
        return h;
    }
    default:
        h = kc_hash_value_begin(h, index, v.type, sizeof v.scalar);
        return kc_hash_bytes(h, &v.scalar, sizeof v.scalar);
    }
}
} // namespace

std::uint64_t config_hash(const std::vector<Value>& values)
{
    std::uint64_t h = KC_HASH_INIT;
    for (std::size_t i = 0; i < values.size(); ++i)
        h = hash_value(h, static_cast<std::uint32_t>(i), values[i]);
    return h;
}

std::uint64_t config_hash_of(const std::vector<const Value*>& values)
{
    std::uint64_t h = KC_HASH_INIT;
    for (std::size_t i = 0; i < values.size(); ++i)
        h = hash_value(h, static_cast<std::uint32_t>(i), *values[i]);
    return h;
}

namespace {

// One event code's payload: its common header, then what fill() takes from it.
template <class Wire, void (*fill)(Event&, const Wire&)> std::optional<Event> decode_payload(Event e, ByteView payload)
{
    auto s = decode<Wire>(payload, true);
    if (!s)
        return std::nullopt;
    e.hdr = s->hdr;
    fill(e, *s);
    return e;
}

void fill_started(Event& e, const kc_ev_started& s)
{
    e.generation = s.generation;
    e.kext_version = field_string(s.kext_version);
}

void fill_stopping(Event& e, const kc_ev_stopping& s)
{
    e.generation = s.generation;
}

void fill_applied(Event& e, const kc_ev_applied& s)
{
    e.generation = s.generation;
    e.config_hash = s.config_hash;
    e.changed = s.changed;
}

void fill_tunable_changed(Event& e, const kc_ev_tunable_changed& s)
{
    e.generation = s.generation;
    e.index = s.index;
    e.name = field_string(s.name);
}

void fill_client(Event& e, const kc_ev_client& s)
{
    e.client = s;
}

void fill_overflow(Event& e, const kc_ev_overflow& s)
{
    e.overflow = s;
}

void fill_heartbeat(Event& e, const kc_ev_heartbeat& s)
{
    e.generation = s.generation;
    e.heartbeat = s;
}

struct EventDecoder {
    std::uint32_t code;
    std::optional<Event> (*decode)(Event, ByteView);
};

constexpr EventDecoder kEventDecoders[] = {
    {KC_EV_STARTED, decode_payload<kc_ev_started, fill_started>},
    {KC_EV_STOPPING, decode_payload<kc_ev_stopping, fill_stopping>},
    {KC_EV_APPLIED, decode_payload<kc_ev_applied, fill_applied>},
    {KC_EV_TUNABLE_CHANGED, decode_payload<kc_ev_tunable_changed, fill_tunable_changed>},
    {KC_EV_CLIENT_CONNECTED, decode_payload<kc_ev_client, fill_client>},
    {KC_EV_CLIENT_DISCONNECTED, decode_payload<kc_ev_client, fill_client>},
    {KC_EV_OVERFLOW, decode_payload<kc_ev_overflow, fill_overflow>},
    {KC_EV_HEARTBEAT, decode_payload<kc_ev_heartbeat, fill_heartbeat>},
};

} // namespace

std::optional<Event> decode_event(std::uint32_t code, ByteView payload)
{
    Event e;
    e.code = code;
    for (const auto& d : kEventDecoders)
        if (d.code == code)
            return d.decode(std::move(e), payload);
    // Unknown codes from a newer kext still carry the common header.
    auto h = decode<kc_event_hdr>(payload, true);
    if (!h)
        return std::nullopt;
    e.hdr = *h;
    return e;
}

} // namespace kextconf::proto
