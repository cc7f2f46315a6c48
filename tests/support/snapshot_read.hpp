// Reading a whole snapshot of a kextconf kext through a control socket:
// state, every value (lists chunk by chunk), state again. `Sock` is any
// socket with getsockopt(level, opt, void*, size_t*) returning 0 or -1 and
// errno: kextsim::InProcessControl (in-process) or kextsim::SystemSocket
// (over kextsim boot). Shared by the fault sweeps, the fault fuzzer and the
// load test. No gtest: a fuzzer uses it.
#pragma once

#include <kextconf/codec.hpp>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace kctest {

struct SnapshotRead {
    kc_state state{};
    std::vector<kextconf::proto::Value> values;
};

// One value, every chunk of it; 0 or the errno (EBADMSG: undecodable).
template <class Sock> int read_value(Sock& c, std::uint32_t index, kextconf::proto::Value& out)
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

// State, values, state. nullopt and `why` on a read error or an undecodable
// value; with `moved` set (and no `why`) when the generation changed in
// between (not a whole snapshot: a writer committed). A whole snapshot whose
// hash (proto::config_hash of the values) differs from kc_state.config_hash
// is returned with `torn` set.
template <class Sock> std::optional<SnapshotRead> read_snapshot(Sock& c, std::string& why, bool& moved, bool& torn)
{
    SnapshotRead s;
    moved = torn = false;
    std::size_t len = sizeof s.state;
    if (c.getsockopt(2, KC_OPT_STATE, &s.state, &len) != 0) {
        why = std::string("state: ") + std::strerror(errno);
        return std::nullopt;
    }
    s.values.resize(s.state.tunable_count);
    for (std::uint32_t i = 0; i < s.state.tunable_count; ++i) {
        if (int e = read_value(c, i, s.values[i])) {
            why = "get " + std::to_string(i) + ": " + std::strerror(e);
            return std::nullopt;
        }
    }
    kc_state again{};
    len = sizeof again;
    if (c.getsockopt(2, KC_OPT_STATE, &again, &len) != 0) {
        why = std::string("state: ") + std::strerror(errno);
        return std::nullopt;
    }
    if (again.generation != s.state.generation) {
        moved = true;
        return std::nullopt;
    }
    torn = kextconf::proto::config_hash(s.values) != s.state.config_hash;
    return s;
}

// For callers with no concurrent writer: any deviation is a failure, said in `why`.
template <class Sock> std::optional<SnapshotRead> read_quiet_snapshot(Sock& c, std::string& why)
{
    bool moved = false, torn = false;
    auto s = read_snapshot(c, why, moved, torn);
    if (moved)
        why = "the generation moved while nobody was writing";
    if (s && torn) {
        why = "the kext's config_hash does not match its values";
        return std::nullopt;
    }
    return s;
}

inline bool same_snapshot(const SnapshotRead& a, const SnapshotRead& b)
{
    return a.state.generation == b.state.generation && a.state.config_hash == b.state.config_hash &&
           a.values == b.values;
}

} // namespace kctest

namespace kctest {

// Index of the tunable called `name` (DESCRIBE over the table), -1 if none:
// tests name tunables rather than hard-code positions in a kext's table.
template <class Sock> int tunable_index(Sock& c, const std::string& name)
{
    kc_state st{};
    std::size_t len = sizeof st;
    if (c.getsockopt(2, KC_OPT_STATE, &st, &len) != 0)
        return -1;
    for (std::uint32_t i = 0; i < st.tunable_count; ++i) {
        kc_tunable_desc d{};
        const kc_describe_req req{i, 0};
        std::memcpy(&d, &req, sizeof req);
        len = sizeof d;
        if (c.getsockopt(2, KC_OPT_DESCRIBE, &d, &len) == 0 && kextconf::proto::field_string(d.name) == name)
            return static_cast<int>(i);
    }
    return -1;
}

} // namespace kctest
