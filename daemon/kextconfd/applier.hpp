// Applying a configuration to one connected kext: validate (once per kext
// load, loaded_config.hpp) -> plan (only what differs, apply_plan.hpp) ->
// push (one transaction) -> verify (read the state back). The result is an
// ApplyReport; the Applier keeps nothing of its own, what it learns about the
// kext goes into the KextSession.
//
// A stale generation (another writer committed between our read and our
// commit) is retried with a fresh read, up to kApplyAttempts times.
//
// Threading: the io_context thread only (one KextClient, one session).
#pragma once

#include "kext_session.hpp"
#include "loaded_config.hpp"

#include <kextconf/config_loader.hpp>
#include <kextconf/kext_client.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kextconf {

// Commits that meet a stale generation before the apply gives up until the
// next event or reload.
inline constexpr int kApplyAttempts = 3;

struct ApplyReport {
    enum class Outcome {
        Applied,  // the kext holds the document's values (verified), or already did
        Rejected, // the document does not fit the kext's schema: `errors`
        Absent,   // the kext is not loaded or is busy starting; nothing was sent
        Failed,   // the kext refused or the link failed: `failure`
    };
    Outcome outcome = Outcome::Failed;
    std::vector<Diagnostic> errors; // Rejected: where the document does not fit, in file order
    std::string failure;            // Failed: a sentence for a person
    bool new_load = false;          // the session met a load it had not followed (new schema)
    bool committed = false;         // Applied with a transaction (false: the kext already matched)
    int attempts = 0;               // transactions tried
    std::uint64_t generation = 0;   // Applied: what the kext reports now
    std::uint64_t config_hash = 0;
    std::uint32_t changed = 0;              // tunables the commit changed
    std::vector<std::string> changed_names; // their names
};

class Applier {
public:
    explicit Applier(KextSession& session) : session_(session) {}

    // Applies `config` to `kext` (`why` goes into the log line). `in_force`
    // (may be null or `config` itself) is the configuration the kext was
    // last left at: when the kext's content hash matches it, or the
    // defaults, its values are known without reading them back.
    ApplyReport apply(KextClient& kext, LoadedConfig& config, LoadedConfig* in_force, const char* why);

    // One transaction's inputs (applier.cpp).
    struct Attempt;

private:
    // The values the kext holds at `st`, read only when not known.
    KextError current_values(KextClient& kext, const kc_state& st, LoadedConfig* in_force,
                             std::vector<proto::Value>& out);
    // One transaction planned from one read of the state; false when the
    // generation was stale and a retry may help, true when `report` is final.
    bool push(KextClient& kext, const Attempt& a, const std::string& file, const char* why, bool last_attempt,
              ApplyReport& report);
    // Reads the state back after a commit and records what the kext holds.
    bool verify(KextClient& kext, const Attempt& a, const ApplyResult& result, const std::string& file, const char* why,
                ApplyReport& report);

    KextSession& session_;
};

} // namespace kextconf
