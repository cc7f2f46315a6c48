#include "kernel_commands.hpp"

#include <kextsim/client.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

namespace kextsim::cli {

namespace {

int fail(const std::string& msg)
{
    std::fprintf(stderr, "kextsim: %s\n", msg.c_str());
    return 1;
}

std::string no_host_message()
{
    return "kextsim is not running at " + runtime_root() + " (start it with: kextsim boot)";
}

template <typename T> T load(const std::uint8_t* p)
{
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

std::string hex(const std::vector<std::uint8_t>& bytes)
{
    // Like sysctl(8) -x, cut after a screenful.
    constexpr std::size_t kMaxDumped = 64;
    static const char kDigits[] = "0123456789abcdef";
    std::string out = "0x";
    for (std::size_t i = 0; i < bytes.size() && i < kMaxDumped; ++i) {
        out += kDigits[bytes[i] >> 4];
        out += kDigits[bytes[i] & 0xf];
    }
    if (bytes.size() > kMaxDumped)
        out += "...";
    return out;
}

// Element size and signedness of a CTLTYPE_INT / CTLTYPE_QUAD OID from its
// format, as sysctl(8) reads it: "I"/"IU" int, "L"/"LU" long, "Q"/"QU" quad.
struct NumberFormat {
    std::size_t size;
    bool is_unsigned;
};

NumberFormat number_format(const SysctlOid& oid)
{
    const bool is_unsigned = oid.fmt.size() >= 2 && oid.fmt[1] == 'U';
    if ((oid.kind & kCtlTypeMask) == kCtlTypeQuad || (!oid.fmt.empty() && (oid.fmt[0] == 'Q' || oid.fmt[0] == 'L')))
        return {8, is_unsigned};
    return {4, is_unsigned};
}

// The value as sysctl(8) prints it.
std::string format_value(const SysctlOid& oid)
{
    const auto& v = oid.value;
    switch (oid.kind & kCtlTypeMask) {
    case kCtlTypeString: return std::string(v.begin(), std::find(v.begin(), v.end(), std::uint8_t{0}));
    case kCtlTypeInt:
    case kCtlTypeQuad: {
        const NumberFormat f = number_format(oid);
        if (v.empty() || v.size() % f.size != 0)
            break;
        std::string out;
        for (std::size_t i = 0; i < v.size(); i += f.size) {
            if (!out.empty())
                out += ' ';
            if (f.size == 4)
                out += f.is_unsigned ? std::to_string(load<std::uint32_t>(&v[i]))
                                     : std::to_string(load<std::int32_t>(&v[i]));
            else
                out += f.is_unsigned ? std::to_string(load<std::uint64_t>(&v[i]))
                                     : std::to_string(load<std::int64_t>(&v[i]));
        }
        return out;
    }
    default: break;
    }
    return "Format:" + oid.fmt + " Length:" + std::to_string(v.size()) + " Dump:" + hex(v);
}

// The bytes to write for `text`, by the OID's type; false with `error` set
// if the text does not fit it.
bool parse_value(const SysctlOid& oid, const std::string& text, std::vector<std::uint8_t>& out, std::string& error)
{
    const std::uint32_t type = oid.kind & kCtlTypeMask;
    if (type == kCtlTypeString) {
        out.assign(text.begin(), text.end());
        return true;
    }
    if (type != kCtlTypeInt && type != kCtlTypeQuad) {
        error = "oid '" + oid.name + "' has format " + oid.fmt + ", which cannot be set from the command line";
        return false;
    }
    const NumberFormat f = number_format(oid);
    const char* first = text.data();
    const char* last = text.data() + text.size();
    std::from_chars_result res{};
    std::uint64_t bits = 0;
    if (f.is_unsigned) {
        std::uint64_t u = 0;
        res = std::from_chars(first, last, u);
        if (f.size == 4 && u > std::numeric_limits<std::uint32_t>::max())
            res.ec = std::errc::result_out_of_range;
        bits = u;
    } else {
        std::int64_t s = 0;
        res = std::from_chars(first, last, s);
        if (f.size == 4 &&
            (s < std::numeric_limits<std::int32_t>::min() || s > std::numeric_limits<std::int32_t>::max()))
            res.ec = std::errc::result_out_of_range;
        bits = static_cast<std::uint64_t>(s);
    }
    if (text.empty() || res.ec != std::errc() || res.ptr != last) {
        error = "invalid " + std::string(f.is_unsigned ? "unsigned " : "") + (f.size == 4 ? "int" : "64-bit") +
                " value '" + text + "' for '" + oid.name + "'";
        return false;
    }
    out.resize(f.size);
    if (f.size == 4) {
        const auto narrow = static_cast<std::uint32_t>(bits);
        std::memcpy(out.data(), &narrow, 4);
    } else {
        std::memcpy(out.data(), &bits, 8);
    }
    return true;
}

bool is_listed_leaf(const SysctlOid& oid)
{
    return (oid.kind & kCtlTypeMask) != kCtlTypeNode && !(oid.kind & kCtlFlagMasked);
}

// Prints every OID under `prefix` (the whole MIB for an empty one). Returns
// false if the host could not be asked.
bool list(SysctlClient& client, const std::vector<int>& prefix)
{
    std::vector<int> path = prefix;
    for (;;) {
        const SysctlOid next = client.next(path);
        if (next.error == ENOENT)
            return true;
        if (next.error != 0)
            return false;
        const bool under =
            next.path.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), next.path.begin());
        if (!under)
            return true; // past the subtree
        path = next.path;
        if (!is_listed_leaf(next))
            continue;
        const SysctlOid oid = client.read(next.name);
        if (oid.error == 0 && (oid.kind & kCtlTypeMask) != kCtlTypeNode)
            std::printf("%s: %s\n", oid.name.c_str(), format_value(oid).c_str());
    }
}

// Why the OID read as `name` cannot be used; "" when it was read.
std::string unreadable(const SysctlOid& oid, const std::string& name)
{
    if (oid.error == ENOENT)
        return "unknown oid '" + name + "'";
    if (oid.error != 0)
        return name + ": " + std::strerror(oid.error);
    return "";
}

int show(SysctlClient& client, const std::string& name)
{
    const SysctlOid oid = client.read(name);
    if (const std::string why = unreadable(oid, name); !why.empty())
        return fail(why);
    if ((oid.kind & kCtlTypeMask) == kCtlTypeNode)
        return list(client, oid.path) ? 0 : fail(no_host_message());
    std::printf("%s: %s\n", oid.name.c_str(), format_value(oid).c_str());
    return 0;
}

int set(SysctlClient& client, const std::string& name, const std::string& text)
{
    const SysctlOid old = client.read(name);
    if (const std::string why = unreadable(old, name); !why.empty())
        return fail(why);
    if ((old.kind & kCtlTypeMask) == kCtlTypeNode)
        return fail("oid '" + name + "' is a node, not a value");
    if (!(old.kind & kCtlFlagWr))
        return fail("oid '" + name + "' is read only");
    std::vector<std::uint8_t> bytes;
    std::string error;
    if (!parse_value(old, text, bytes, error))
        return fail(error);
    if (int err = client.write(name, bytes.data(), bytes.size()); err != 0)
        return fail(name + ": " + std::strerror(err));
    const SysctlOid now = client.read(name);
    std::printf("%s: %s -> %s\n", name.c_str(), format_value(old).c_str(),
                now.error == 0 ? format_value(now).c_str() : text.c_str());
    return 0;
}

} // namespace

int sysctl_command(const std::vector<std::string>& args)
{
    bool all = false;
    std::vector<std::string> names;
    for (const auto& a : args) {
        if (a == "-a")
            all = true;
        else if (!a.empty() && a[0] == '-')
            return std::fprintf(stderr, "kextsim: unknown sysctl option %s\n", a.c_str()), 2;
        else
            names.push_back(a);
    }
    if (all == !names.empty())
        return std::fprintf(stderr, "kextsim: usage: kextsim sysctl -a | NAME[=VALUE]...\n"), 2;
    auto client = SysctlClient::open();
    if (!client)
        return fail(no_host_message());
    if (all)
        return list(*client, {}) ? 0 : fail(no_host_message());
    int status = 0;
    for (const auto& n : names) {
        const auto eq = n.find('=');
        const int rc = eq == std::string::npos ? show(*client, n) : set(*client, n.substr(0, eq), n.substr(eq + 1));
        if (rc != 0)
            status = rc;
    }
    return status;
}

int log_command(const std::vector<std::string>& args)
{
    bool follow = false;
    for (const auto& a : args) {
        if (a == "--follow" || a == "-f")
            follow = true;
        else
            return std::fprintf(stderr, "kextsim: usage: kextsim log [--follow]\n"), 2;
    }
    auto stream = LogStream::open(follow);
    if (!stream) {
        if (errno == EPERM)
            return fail("reading the kernel log needs root (or the user running kextsim boot)");
        if (errno == ECONNREFUSED)
            return fail(no_host_message());
        return fail(std::string("log: ") + std::strerror(errno));
    }
    for (const auto& line : stream->backlog())
        std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    std::string line;
    while (follow && stream->next(line)) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
    }
    return 0;
}

} // namespace kextsim::cli
