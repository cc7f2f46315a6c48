// Encoding of the sysctl records on the wire (Op::Sysctl, wire.hpp): the
// numeric path, the dotted name, the format string and the value bytes, as
// the host's SysctlTree reports them and the client library returns them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace kextsim::wire {

// payload = int32 path[path_len], name NUL, fmt NUL, value bytes; the
// header's c carries path_len and a the oid_kind.
struct SysctlRecord {
    std::vector<std::int32_t> path;
    std::string name;
    std::string fmt;
    std::vector<std::uint8_t> value;
};

inline std::vector<std::uint8_t> encode_sysctl(const SysctlRecord& r)
{
    std::vector<std::uint8_t> out(r.path.size() * sizeof(std::int32_t));
    if (!r.path.empty())
        std::memcpy(out.data(), r.path.data(), out.size());
    out.insert(out.end(), r.name.begin(), r.name.end());
    out.push_back(0);
    out.insert(out.end(), r.fmt.begin(), r.fmt.end());
    out.push_back(0);
    out.insert(out.end(), r.value.begin(), r.value.end());
    return out;
}

// False if the payload does not hold a whole record.
inline bool decode_sysctl(const std::vector<std::uint8_t>& in, std::uint32_t path_len, SysctlRecord& r)
{
    const std::size_t path_bytes = std::size_t{path_len} * sizeof(std::int32_t);
    if (path_len > 64 || in.size() < path_bytes)
        return false;
    r.path.resize(path_len);
    if (path_len != 0)
        std::memcpy(r.path.data(), in.data(), path_bytes);
    auto next_string = [&](std::size_t& pos, std::string& s) {
        if (pos >= in.size())
            return false;
        const auto* begin = in.data() + pos;
        const auto* nul = static_cast<const std::uint8_t*>(std::memchr(begin, 0, in.size() - pos));
        if (nul == nullptr)
            return false;
        s.assign(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(nul - begin));
        pos += s.size() + 1;
        return true;
    };
    std::size_t pos = path_bytes;
    if (!next_string(pos, r.name) || !next_string(pos, r.fmt))
        return false;
    r.value.assign(in.begin() + static_cast<std::ptrdiff_t>(pos), in.end());
    return true;
}

} // namespace kextsim::wire
