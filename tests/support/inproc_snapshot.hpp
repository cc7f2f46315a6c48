// Reading a whole snapshot of a kextconf kext through an in-process control
// (kextsim/inproc): state, every value (lists chunk by chunk), state again.
// Shared by the fault sweeps (tests/unit/fault_sweep_test.cpp) and the
// fault fuzzer (tests/fuzz/fuzz_kext_faults.cpp). No gtest: a fuzzer uses it.
#pragma once

#include <kextconf/codec.hpp>
#include <kextsim/inproc.hpp>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace kctest {

struct InprocSnapshot {
    kc_state state{};
    std::vector<kextconf::proto::Value> values;
};

// One value, every chunk of it; 0 or the errno (EBADMSG: undecodable).
inline int inproc_get_value(kextsim::InProcessControl& c, std::uint32_t index, kextconf::proto::Value& out)
{
    using namespace kextconf::proto;
    out = Value{};
    std::vector<std::uint8_t> buf(KC_OPT_MAX_LEN);
    for (int chunks = 0; chunks < 1 << 20; ++chunks) {
        const kc_get_req req{index, is_list_type(out.type) ? out.element_count() : 0};
        std::memcpy(buf.data(), &req, sizeof req);
        std::size_t len = buf.size();
        if (c.getsockopt(2 /* SYSPROTO_CONTROL */, KC_OPT_GET, buf.data(), &len) != 0)
            return errno;
        auto chunk = decode_value_chunk(ByteView(buf.data(), len));
        if (!chunk || (out.type != 0 && chunk->hdr.type != out.type))
            return EBADMSG;
        out.type = chunk->hdr.type;
        if (!append_chunk(out, *chunk))
            return EBADMSG;
        if (!is_list_type(out.type) || out.element_count() >= chunk->hdr.total || chunk->hdr.count == 0)
            return 0;
    }
    return EBADMSG;
}

// State, values, state. `why` says what failed: a read error, an undecodable
// value, the generation moving (nobody else may write meanwhile), or the
// kext's hash not matching its values (proto::config_hash).
inline std::optional<InprocSnapshot> inproc_snapshot(kextsim::InProcessControl& c, std::string& why)
{
    InprocSnapshot s;
    std::size_t len = sizeof s.state;
    if (c.getsockopt(2, KC_OPT_STATE, &s.state, &len) != 0) {
        why = std::string("state: ") + std::strerror(errno);
        return std::nullopt;
    }
    s.values.resize(s.state.tunable_count);
    for (std::uint32_t i = 0; i < s.state.tunable_count; ++i) {
        if (int e = inproc_get_value(c, i, s.values[i])) {
            why = "get " + std::to_string(i) + ": " + std::strerror(e);
            return std::nullopt;
        }
    }
    kc_state again{};
    len = sizeof again;
    if (c.getsockopt(2, KC_OPT_STATE, &again, &len) != 0 || again.generation != s.state.generation) {
        why = "the generation moved while nobody was writing";
        return std::nullopt;
    }
    if (kextconf::proto::config_hash(s.values) != s.state.config_hash) {
        why = "the kext's config_hash does not match its values";
        return std::nullopt;
    }
    return s;
}

inline bool same_snapshot(const InprocSnapshot& a, const InprocSnapshot& b)
{
    return a.state.generation == b.state.generation && a.state.config_hash == b.state.config_hash &&
           a.values == b.values;
}

} // namespace kctest
