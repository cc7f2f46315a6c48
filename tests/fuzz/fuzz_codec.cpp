// libFuzzer target: the user-space codec of the contract, fed what a kext (or
// an impostor) could send back: value chunks, descriptors, events, batched
// describe answers (version 2).
#include <kextconf/codec.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

using namespace kextconf::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    const ByteView in(data + 1, size - 1);
    switch (data[0] % 5) {
    case 0:
        if (auto c = decode_value_chunk(in)) {
            Value v;
            v.type = c->hdr.type;
            if (append_chunk(v, *c))
                (void)encode_payload(v);
        }
        break;
    case 1:
        if (auto d = decode<kc_tunable_desc>(in))
            if (auto t = TunableDesc::from_wire(*d))
                (void)t->to_wire();
        break;
    case 2:
        if (in.size() >= 4)
            (void)decode_event(in[0], in.subspan(4));
        break;
    case 4:
        // A describe batch: what decodes encodes back to records that decode
        // to the same descriptors and hash the same.
        if (auto b = decode_describe_batch(in)) {
            auto again = decode_desc_records(encode_desc_records(b->descs));
            if (!again || again->size() != b->descs.size() || schema_hash(*again) != schema_hash(b->descs) ||
                (!b->descs.empty() && // memcmp of two empty vectors' (null) data is undefined
                 std::memcmp(again->data(), b->descs.data(), b->descs.size() * sizeof(kc_tunable_desc)) != 0))
                __builtin_trap();
        }
        break;
    default: {
        // Round trip: any chunked value reassembles to itself.
        std::vector<std::int64_t> ints(in.size() / 8);
        if (!ints.empty())
            std::memcpy(ints.data(), in.data(), ints.size() * 8);
        const Value v = Value::of_ints(ints);
        Value back;
        back.type = KC_TYPE_INT64_LIST;
        for (const auto& chunk : encode_set_chunks(0, v, 64 + in.size() % 512))
            if (auto c = decode_value_chunk(chunk); !c || !append_chunk(back, *c))
                __builtin_trap();
        if (!(back == v))
            __builtin_trap();
    }
    }
    return 0;
}
