// The kext's tunable table saved in kextconfd's state directory, so that a
// start (or a reload of the kext with an unchanged table) need not describe
// it again: a version 2 kext says its schema hash in the hello, and a saved
// table with the same bundle id, kext version and hash is the table.
//
// One file per bundle id, "schema.<bundle-id>.cache": a fixed header (magic,
// format, schema hash, kext version, bundle id) and the descriptors as
// KC_OPT_DESCRIBE_ALL records (proto.h). A file that does not match, or whose
// records do not hash to what its header and the kext say, is ignored (the
// table is described, and the file replaced): the cache can only save round
// trips, never change what the daemon believes.
//
// Threading: one thread (the daemon's io_context thread).
#pragma once

#include <kextconf/proto.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kextconf {

class SchemaCache {
public:
    // `dir` is the state directory, already checked safe; "" disables the cache.
    explicit SchemaCache(std::string dir = {}) : dir_(std::move(dir)) {}

    // The saved table of (bundle, version, hash); nullopt when there is none
    // that matches (logged at debug only: a miss is routine).
    std::optional<std::vector<kc_tunable_desc>> load(const std::string& bundle, const std::string& version,
                                                     std::uint64_t hash) const;
    // Saves the table atomically; false (logged) when it could not.
    bool store(const std::string& bundle, const std::string& version, std::uint64_t hash,
               const std::vector<kc_tunable_desc>& descs) const;

    // The file for `bundle`, or "" when the cache is off or the bundle id
    // cannot name a file safely.
    std::string path(const std::string& bundle) const;

private:
    std::string dir_;
};

} // namespace kextconf
