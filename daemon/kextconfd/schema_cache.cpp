#include "schema_cache.hpp"

#include <kextconf/codec.hpp>
#include <kextconf/file.hpp>
#include <kextconf/logging.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kextconf {

namespace {

constexpr char kMagic[8] = {'K', 'C', 'S', 'C', 'H', 'E', 'M', 'A'};
constexpr std::uint32_t kFormat = 1;
// A table of 65,536 tunables of the largest records is about 34 MiB; no real
// kext comes near it, and the file is read whole.
constexpr std::size_t kMaxCacheBytes = 8u * 1024u * 1024u;

struct Header {
    char magic[8];
    std::uint32_t format;
    std::uint32_t count;
    std::uint64_t schema_hash;
    char kext_version[KC_VERSION_STR_MAX];
    char bundle_id[KC_BUNDLE_ID_MAX];
};
static_assert(sizeof(Header) == 120, "no padding inside the header");

bool safe_bundle(const std::string& bundle)
{
    return !bundle.empty() && bundle.size() < KC_BUNDLE_ID_MAX && bundle.front() != '.' &&
           std::all_of(bundle.begin(), bundle.end(), [](char ch) {
               return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '-' || ch == '_';
           });
}

} // namespace

std::string SchemaCache::path(const std::string& bundle) const
{
    if (dir_.empty() || !safe_bundle(bundle))
        return {};
    return dir_ + "/schema." + bundle + ".cache";
}

std::optional<std::vector<kc_tunable_desc>> SchemaCache::load(const std::string& bundle, const std::string& version,
                                                              std::uint64_t hash) const
{
    const std::string file = path(bundle);
    if (file.empty())
        return std::nullopt;
    const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return std::nullopt;
    std::string text;
    if (const std::string why = read_file_bounded(fd.get(), st, kMaxCacheBytes, text); !why.empty()) {
        logcat::kext().warn("schema cache {}: {}; describing the kext instead", file, why);
        return std::nullopt;
    }
    Header h;
    if (text.size() < sizeof h)
        return std::nullopt;
    std::memcpy(&h, text.data(), sizeof h);
    const bool matches = std::memcmp(h.magic, kMagic, sizeof kMagic) == 0 && h.format == kFormat &&
                         h.schema_hash == hash && proto::field_string(h.kext_version) == version &&
                         proto::field_string(h.bundle_id) == bundle;
    if (!matches) {
        logcat::kext().debug("schema cache {}: saved for another table; describing the kext", file);
        return std::nullopt;
    }
    const auto* body = reinterpret_cast<const std::uint8_t*>(text.data()) + sizeof h;
    auto descs = proto::decode_desc_records(proto::ByteView(body, text.size() - sizeof h));
    if (!descs || descs->size() != h.count || proto::schema_hash(*descs) != hash) {
        logcat::kext().warn("schema cache {}: damaged (its records do not hash to its header); describing the kext",
                            file);
        return std::nullopt;
    }
    return descs;
}

bool SchemaCache::store(const std::string& bundle, const std::string& version, std::uint64_t hash,
                        const std::vector<kc_tunable_desc>& descs) const
{
    const std::string file = path(bundle);
    if (file.empty())
        return false;
    Header h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.format = kFormat;
    h.count = static_cast<std::uint32_t>(descs.size());
    h.schema_hash = hash;
    proto::set_field_string(h.kext_version, version);
    proto::set_field_string(h.bundle_id, bundle);
    const proto::Bytes records = proto::encode_desc_records(descs);
    std::string text(reinterpret_cast<const char*>(&h), sizeof h);
    text.append(reinterpret_cast<const char*>(records.data()), records.size());
    if (const ReplaceResult r = replace_file_atomically(file, text, 0600)) {
        logcat::kext().warn("cannot save the schema cache {}: {}: {}", file, r.failed_step, r.ec.message());
        return false;
    }
    return true;
}

} // namespace kextconf
