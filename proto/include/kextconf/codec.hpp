// User-space codec for the kextconf contract (proto.h): typed C++ views of the
// wire structs, value payload encoding, chunking and the config hash.
// Pure functions; safe to call from any thread.
#pragma once

#include <kextconf/proto.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kextconf::proto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Copies a trivially copyable wire struct into bytes.
template <class T> Bytes encode(const T& v)
{
    static_assert(std::is_trivially_copyable_v<T>);
    Bytes out(sizeof(T));
    std::memcpy(out.data(), &v, sizeof(T));
    return out;
}

// Reads a wire struct; nullopt unless the buffer holds exactly sizeof(T) bytes
// (or at least, when allow_trailing is set).
template <class T> std::optional<T> decode(ByteView in, bool allow_trailing = false)
{
    static_assert(std::is_trivially_copyable_v<T>);
    if (in.size() < sizeof(T) || (!allow_trailing && in.size() != sizeof(T)))
        return std::nullopt;
    T v;
    std::memcpy(&v, in.data(), sizeof(T));
    return v;
}

// Copies a NUL-padded fixed char field into a std::string (stops at the first
// NUL or at the end of the field, so an unterminated field is still safe).
template <std::size_t N> std::string field_string(const char (&field)[N])
{
    return std::string(field, strnlen(field, N));
}

// Writes s into a fixed char field; false if it does not fit with its NUL.
template <std::size_t N> bool set_field_string(char (&field)[N], std::string_view s)
{
    if (s.size() >= N)
        return false;
    std::memset(field, 0, N);
    std::memcpy(field, s.data(), s.size());
    return true;
}

std::string_view type_name(std::uint32_t type); // "bool", "int64", ... or "unknown"
std::optional<std::uint32_t> type_from_name(std::string_view name);
std::string_view reason_text(std::uint32_t reason); // human text for kc_reason
std::string_view option_name(std::uint32_t opt);
std::string_view event_name(std::uint32_t code);

bool is_list_type(std::uint32_t type);

// A tunable's value, typed by `type` (enum kc_type). Scalars live in `scalar`
// (bool and enum as 0/1 and index in scalar.i), strings in `str`, lists in
// `ints` / `strs`.
struct Value {
    std::uint32_t type = 0;
    kc_scalar scalar{};
    std::string str;
    std::vector<std::int64_t> ints;
    std::vector<std::string> strs;

    static Value of_bool(bool b);
    static Value of_int(std::int64_t v);
    static Value of_uint(std::uint64_t v);
    static Value of_enum(std::uint32_t index);
    static Value of_string(std::string s);
    static Value of_ints(std::vector<std::int64_t> v);
    static Value of_strings(std::vector<std::string> v);

    std::uint32_t element_count() const; // elements (lists), bytes (string), 1 (scalars)
    friend bool operator==(const Value& a, const Value& b);
};

// A tunable descriptor with C++ strings; enum names split on '|'.
struct TunableDesc {
    std::uint32_t index = 0;
    std::uint32_t type = 0;
    std::uint32_t flags = 0;
    std::uint32_t max_count = 0;
    kc_scalar min{};
    kc_scalar max{};
    std::string name;
    std::string unit;
    std::string help;
    std::vector<std::string> enum_names;
    Value def;

    static std::optional<TunableDesc> from_wire(const kc_tunable_desc& d);
    kc_tunable_desc to_wire() const;
};

// ---- version 2: the batched describe and the schema hash ----

// One KC_OPT_DESCRIBE_ALL reply: its header and the descriptors it carries.
struct DescribeBatch {
    kc_describe_batch hdr{};
    std::vector<kc_tunable_desc> descs;
};
// nullopt unless the reply is a header and exactly hdr.count well-formed records.
std::optional<DescribeBatch> decode_describe_batch(ByteView in);
// Descriptors as DESCRIBE_ALL records back to back (kc_desc_record_put), and
// back: nullopt unless `in` is nothing but well-formed records (string
// lengths within their fields, no NUL inside a string).
Bytes encode_desc_records(const std::vector<kc_tunable_desc>& descs);
std::optional<std::vector<kc_tunable_desc>> decode_desc_records(ByteView in);
// kc_schema_hash_add over `descs` in order, from KC_HASH_INIT.
std::uint64_t schema_hash(const std::vector<kc_tunable_desc>& descs);

// Canonical payload of a whole value (what the hash covers).
Bytes encode_payload(const Value& v);

// Splits a value into TXN_SET options of at most max_len bytes each (header
// included). Scalars and strings that fit give one chunk; lists are split on
// element boundaries. Returns an empty vector if a single element cannot fit.
std::vector<Bytes> encode_set_chunks(std::uint32_t index, const Value& v, std::size_t max_len = KC_OPT_MAX_LEN);

// Version 2: TXN_SET options (from encode_set_chunks) packed back to back into
// as few options of at most max_len bytes as keep their order.
std::vector<Bytes> pack_set_options(std::vector<Bytes> chunks, std::size_t max_len = KC_OPT_MAX_LEN);

// A decoded value chunk: header plus its payload bytes.
struct ValueChunk {
    kc_value_hdr hdr{};
    ByteView payload;
};
std::optional<ValueChunk> decode_value_chunk(ByteView in);

// Appends the elements of one chunk to `into` (which has `type`); false if the
// payload is malformed for the type.
bool append_chunk(Value& into, const ValueChunk& chunk);

// Hash of a complete configuration: values in index order (index i of the
// vector is tunable i). Streams each value's canonical bytes (no copy).
std::uint64_t config_hash(const std::vector<Value>& values);
// The same over values held elsewhere (values[i] is tunable i, not null).
std::uint64_t config_hash_of(const std::vector<const Value*>& values);

// A decoded kern_event payload of this contract.
struct Event {
    std::uint32_t code = 0;
    kc_event_hdr hdr{};
    std::uint64_t generation = 0;  // started, stopping, applied, tunable-changed, heartbeat
    std::uint64_t config_hash = 0; // applied
    std::uint32_t changed = 0;     // applied
    std::string kext_version;      // started
    std::uint32_t index = 0;       // tunable-changed
    std::string name;              // tunable-changed ("" for a hidden tunable)
    kc_ev_client client{};         // client-connected / client-disconnected
    kc_ev_overflow overflow{};     // overflow
    kc_ev_heartbeat heartbeat{};   // heartbeat
};
std::optional<Event> decode_event(std::uint32_t code, ByteView payload);

} // namespace kextconf::proto
