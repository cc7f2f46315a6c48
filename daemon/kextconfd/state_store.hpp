// kextconfd's state directory: the copy of the last configuration the kext
// accepted (DESIGN rule 3), so the next boot can apply it when the file is
// broken. The directory must belong to root (or the daemon's user) and not be
// writable by group or others, like the config file (rule 6); the copy is
// written atomically (temp file, fsync, rename, fsync of the directory). The
// schema of the kext last connected to is kept beside it (kSchemaFile).
//
// Problems are logged and make the store unusable or the save fail; they never
// stop the daemon. Threading: one thread (the daemon's io_context thread).
#pragma once

#include <kextconf/state_dir.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kextconf {

class StateStore {
public:
    explicit StateStore(std::string dir);

    // Creates the directory (mode 0700) if missing and checks its ownership
    // and mode. False (logged) if it cannot be used; then load and save do
    // nothing.
    bool open();
    std::string last_good_path() const;
    // The saved copy's text; nullopt if there is none or it cannot be read
    // safely (logged unless it simply does not exist).
    std::optional<std::string> load_last_good();
    // Replaces the saved copy with `text` atomically, unless it already holds
    // exactly that. False (logged) on failure; the old copy is then intact.
    bool save_last_good(std::string_view text);
    // Replaces the saved schema the same way (kSchemaFile).
    std::string schema_path() const;
    bool save_schema(std::string_view text);

private:
    // Atomic replace of dir/name: temp file, fsync (F_FULLFSYNC where there
    // is one), rename, sync of the directory; skipped when `saved_hash`
    // shows the file already holds `text`.
    enum class Saved {
        Written,   // replaced, durably
        Unchanged, // the file already held the text
        Failed,    // logged; the old file is intact
    };
    Saved save(const char* name, std::string_view text, std::optional<std::size_t>& saved_hash);

    std::string dir_;
    bool usable_ = false;
    std::optional<std::size_t> saved_hash_;  // of last-good.json on disk, once known
    std::optional<std::size_t> schema_hash_; // of schema.json
};

} // namespace kextconf
