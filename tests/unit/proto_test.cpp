// The contract's wire layouts, pinned by golden byte vectors: a change that
// moves a field breaks these before it breaks a deployed kext.
#include <kextconf/codec.hpp>

#include <gtest/gtest.h>

using namespace kextconf::proto;

namespace {

Bytes hex_bytes(const std::string& hex)
{
    Bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        if (hex[i] == ' ') {
            --i;
            continue;
        }
        out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

TEST(Proto, TxnBeginGolden)
{
    EXPECT_EQ(encode(kc_txn_begin{0x0102030405060708ULL}), hex_bytes("08 07 06 05 04 03 02 01"));
}

TEST(Proto, ValueHeaderGolden)
{
    const kc_value_hdr h{3, KC_TYPE_INT64, 0, 1, 1, 8};
    EXPECT_EQ(encode(h), hex_bytes("03000000 02000000 00000000 01000000 01000000 08000000"));
}

TEST(Proto, ScalarSetChunkGolden)
{
    const auto chunks = encode_set_chunks(1, Value::of_uint(128));
    ASSERT_EQ(chunks.size(), 1u);
    EXPECT_EQ(chunks[0], hex_bytes("01000000 03000000 00000000 01000000 01000000 08000000 8000000000000000"));
}

TEST(Proto, StringSetChunkGolden)
{
    const auto chunks = encode_set_chunks(4, Value::of_string("ab"));
    ASSERT_EQ(chunks.size(), 1u);
    EXPECT_EQ(chunks[0], hex_bytes("04000000 05000000 00000000 02000000 02000000 02000000 6162"));
}

TEST(Proto, StateGolden)
{
    const kc_state s{2, 0x1122334455667788ULL, 5, 7, 0xaabbccdd, 1};
    EXPECT_EQ(encode(s), hex_bytes("0200000000000000 8877665544332211 05000000 07000000 ddccbbaa 01000000"));
}

TEST(Proto, AppliedEventGolden)
{
    kc_ev_applied ev{};
    ev.hdr = {9, 0x01020304};
    ev.generation = 3;
    ev.config_hash = 0xff;
    ev.changed = 2;
    EXPECT_EQ(encode(ev), hex_bytes("09000000 04030201 0300000000000000 ff00000000000000 02000000 00000000"));
    auto back = decode_event(KC_EV_APPLIED, encode(ev));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->hdr.seq, 9u);
    EXPECT_EQ(back->generation, 3u);
    EXPECT_EQ(back->config_hash, 0xffu);
    EXPECT_EQ(back->changed, 2u);
}

TEST(Proto, DecodeRejectsWrongSizes)
{
    EXPECT_FALSE(decode<kc_state>(Bytes(31)));
    EXPECT_FALSE(decode<kc_state>(Bytes(33)));
    EXPECT_TRUE(decode<kc_state>(Bytes(33), true));
    EXPECT_FALSE(decode_event(KC_EV_STARTED, Bytes(10)));
    EXPECT_FALSE(decode_value_chunk(hex_bytes("01000000 03000000 00000000 01000000 01000000 08000000 80")));
}

TEST(Proto, DescriptorRoundTrip)
{
    TunableDesc d;
    d.index = 2;
    d.type = KC_TYPE_ENUM;
    d.max.i = 2;
    d.name = "log_level";
    d.help = "level";
    d.enum_names = {"error", "warn", "info"};
    d.def = Value::of_enum(1);
    auto back = TunableDesc::from_wire(d.to_wire());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->name, "log_level");
    EXPECT_EQ(back->enum_names, d.enum_names);
    EXPECT_EQ(back->def, d.def);
    kc_tunable_desc bad = d.to_wire();
    bad.type = 99;
    EXPECT_FALSE(TunableDesc::from_wire(bad));
}

TEST(Proto, ListChunksSplitAndReassemble)
{
    std::vector<std::int64_t> big(5000);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::int64_t>(i * 3);
    const Value v = Value::of_ints(big);
    const auto chunks = encode_set_chunks(0, v, 1024);
    ASSERT_GT(chunks.size(), 1u);
    Value back;
    back.type = KC_TYPE_INT64_LIST;
    for (const auto& c : chunks) {
        ASSERT_LE(c.size(), 1024u);
        auto vc = decode_value_chunk(c);
        ASSERT_TRUE(vc);
        ASSERT_TRUE(append_chunk(back, *vc));
    }
    EXPECT_EQ(back, v);
}

TEST(Proto, StringListChunksRejectMalformed)
{
    const auto chunks = encode_set_chunks(0, Value::of_strings({"a", "bc"}));
    ASSERT_EQ(chunks.size(), 1u);
    Bytes broken = chunks[0];
    broken.back() = 'x'; // last string no longer NUL-terminated
    auto vc = decode_value_chunk(broken);
    ASSERT_TRUE(vc);
    Value into;
    into.type = KC_TYPE_STRING_LIST;
    EXPECT_FALSE(append_chunk(into, *vc));
}

TEST(Proto, ConfigHashGoldenAndOrderSensitive)
{
    const std::vector<Value> a = {Value::of_bool(true), Value::of_string("x")};
    const std::vector<Value> b = {Value::of_bool(false), Value::of_string("x")};
    EXPECT_NE(config_hash(a), config_hash(b));
    EXPECT_EQ(config_hash(a), config_hash(a));
    // FNV-1a of the empty configuration is the offset basis.
    EXPECT_EQ(config_hash({}), KC_HASH_INIT);
    // Pinned value: index 0 (u32), type 1 (u32), length 8 (u32), payload int64 1.
    std::uint64_t h = KC_HASH_INIT;
    const std::uint8_t bytes[] = {0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    h = kc_hash_bytes(h, bytes, sizeof bytes);
    EXPECT_EQ(config_hash({Value::of_bool(true)}), h);
}

// The hash of every type, lists included, is FNV over index, type, length
// and the canonical payload (proto.h), whichever way it is computed.
TEST(Proto, ConfigHashCoversListsAsDefined)
{
    const std::vector<Value> values = {Value::of_int(-3),
                                       Value::of_string("abc"),
                                       Value::of_ints({1, 2, 65535}),
                                       Value::of_strings({"/a", "", "/bc"}),
                                       Value::of_ints({}),
                                       Value::of_strings({})};
    std::uint64_t h = KC_HASH_INIT;
    for (std::uint32_t i = 0; i < values.size(); ++i) {
        const Bytes p = encode_payload(values[i]);
        h = kc_hash_value_begin(h, i, values[i].type, static_cast<std::uint32_t>(p.size()));
        h = kc_hash_bytes(h, p.data(), p.size());
    }
    EXPECT_EQ(config_hash(values), h);
    std::vector<const Value*> refs;
    for (const auto& v : values)
        refs.push_back(&v);
    EXPECT_EQ(config_hash_of(refs), h);
    // A string list's payload: each entry and its NUL.
    EXPECT_EQ(encode_payload(values[3]), (Bytes{'/', 'a', 0, 0, '/', 'b', 'c', 0}));
    // Moving an entry across a boundary changes the hash.
    EXPECT_NE(config_hash({Value::of_strings({"ab", "c"})}), config_hash({Value::of_strings({"a", "bc"})}));
}

TEST(Proto, NamesAreTotal)
{
    for (std::uint32_t t = 0; t <= KC_TYPE__COUNT; ++t)
        EXPECT_FALSE(type_name(t).empty());
    for (std::uint32_t r = 0; r <= KC_R__COUNT; ++r)
        EXPECT_FALSE(reason_text(r).empty());
    EXPECT_EQ(type_from_name("uint64"), KC_TYPE_UINT64);
    EXPECT_FALSE(type_from_name("float"));
}

} // namespace

// ---- version 2: hello, batched describe, batched set, schema hash ----

namespace {

kc_tunable_desc sample_desc()
{
    kc_tunable_desc d{};
    d.index = 2;
    d.type = KC_TYPE_UINT64;
    d.flags = KC_TF_LOAD_ONLY;
    d.max.u = 100;
    d.def.u = 5;
    set_field_string(d.name, "ab");
    set_field_string(d.unit, "ms");
    set_field_string(d.help, "h");
    return d;
}

const char* const kSampleRecord = "02000000 03000000 01000000 00000000 0000000000000000 6400000000000000 "
                                  "0500000000000000 02 02 01 00 00 000000 61626d7368 000000";

} // namespace

TEST(Proto, HelloV2Golden)
{
    kc_hello_reply_v2 r{};
    r.v1.proto_version = 2;
    r.v1.min_proto_version = 1;
    r.v1.capabilities = KC_CAP_BATCH;
    r.schema_hash = 0x0102030405060708ULL;
    const Bytes b = encode(r);
    ASSERT_EQ(b.size(), 128u);
    EXPECT_EQ(Bytes(b.begin(), b.begin() + 16), hex_bytes("02000000 01000000 0800000000000000"));
    EXPECT_EQ(Bytes(b.begin() + 120, b.end()), hex_bytes("0807060504030201"));
    // A version 1 reader of the first 120 bytes sees version 1's reply.
    auto v1 = decode<kc_hello_reply>(b, true);
    ASSERT_TRUE(v1);
    EXPECT_EQ(v1->proto_version, 2u);
}

TEST(Proto, DescRecordGoldenAndRoundTrip)
{
    const kc_tunable_desc d = sample_desc();
    const Bytes rec = encode_desc_records({d});
    EXPECT_EQ(rec, hex_bytes(kSampleRecord));
    auto back = decode_desc_records(rec);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ(std::memcmp(&(*back)[0], &d, sizeof d), 0);
}

TEST(Proto, SchemaHashPinnedAndOverTheRecords)
{
    // FNV-1a 64 of the record above without its 3 bytes of padding.
    EXPECT_EQ(schema_hash({sample_desc()}), 0xa6292a81d2fe7c92ULL);
    EXPECT_EQ(schema_hash({}), KC_HASH_INIT);
    kc_tunable_desc other = sample_desc();
    other.def.u = 6;
    EXPECT_NE(schema_hash({other}), schema_hash({sample_desc()}));
    // Bytes after a field's NUL are not part of the table.
    kc_tunable_desc junk = sample_desc();
    junk.help[5] = 'x';
    EXPECT_EQ(schema_hash({junk}), schema_hash({sample_desc()}));
}

TEST(Proto, DescribeBatchDecodesAndRefusesMalformed)
{
    const kc_describe_batch h{0, 2, 3, 3};
    kc_tunable_desc second = sample_desc();
    second.index = 1;
    set_field_string(second.enum_names, "a|b");
    Bytes good = encode(h);
    const Bytes recs = encode_desc_records({sample_desc(), second});
    good.insert(good.end(), recs.begin(), recs.end());
    auto batch = decode_describe_batch(good);
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->hdr.next, 3u);
    ASSERT_EQ(batch->descs.size(), 2u);
    EXPECT_STREQ(batch->descs[1].enum_names, "a|b");

    Bytes short_by_one(good.begin(), good.end() - 1); // the last record cut
    EXPECT_FALSE(decode_describe_batch(short_by_one));
    Bytes wrong_count = good;
    wrong_count[4] = 3; // says 3 records, carries 2
    EXPECT_FALSE(decode_describe_batch(wrong_count));
    Bytes too_long_name = hex_bytes(kSampleRecord);
    too_long_name[40] = KC_NAME_MAX; // a name as long as its field leaves no room for the NUL
    EXPECT_FALSE(decode_desc_records(too_long_name));
    Bytes nul_inside = hex_bytes(kSampleRecord);
    nul_inside[48] = 0; // "\0b": a NUL inside the name
    EXPECT_FALSE(decode_desc_records(nul_inside));
}

TEST(Proto, SetOptionsPackInOrderWithinTheLimit)
{
    std::vector<Bytes> chunks;
    for (std::uint32_t i = 0; i < 3; ++i)
        chunks.push_back(encode_set_chunks(i, Value::of_int(i))[0]); // 32 bytes each
    const auto one = pack_set_options(chunks);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0], hex_bytes("00000000 02000000 00000000 01000000 01000000 08000000 0000000000000000"
                                "01000000 02000000 00000000 01000000 01000000 08000000 0100000000000000"
                                "02000000 02000000 00000000 01000000 01000000 08000000 0200000000000000"));
    const auto two = pack_set_options(chunks, 64);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0].size(), 64u);
    EXPECT_EQ(two[1], chunks[2]);
}
