// The configuration check behind `kextconfd --check`, `--print-config` and
// `kextconfctl config check`: read the file with the daemon's ownership
// checks, parse it, and validate its values. It never changes the kext. The
// check returns a CheckReport; each program renders it as text or JSON, so
// both print the same errors.
//
// Which schema the values are checked against, first match wins:
//   1. --schema FILE (a document from `kextconfctl schema`, or a saved
//      schema.json), when given;
//   2. the running kext's describe answer (through its query control);
//   3. the schema kextconfd saved in --state-dir when it last connected;
//   4. none: the values are not checked, and the report says so (a distinct
//      exit status, kExitUnchecked, unless --syntax-only asked for no more).
//
// Threading: single-threaded, before any io_context exists.
#pragma once

#include <kextconf/config_loader.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kextconf {

struct CheckOptions {
    std::string config_path;
    std::string schema_path; // --schema, or empty
    std::string state_dir;
    bool syntax_only = false; // --syntax-only: no schema looked for, none needed
};

// What a check found.
struct CheckReport {
    enum class Verdict {
        Valid,      // parsed, and every value fits the schema `schema` names
        SyntaxOnly, // parsed with the right structure; --syntax-only asked for no value check
        Unchecked,  // parsed with the right structure, but no schema was found: values NOT checked
        Invalid,    // `errors` says why (the file, the schema, or a mismatch of the two)
    };
    std::string file;
    Verdict verdict = Verdict::Invalid;
    std::vector<Diagnostic> errors; // in file order
    // The sentence naming the schema used ("the running kext ..."), or why
    // there was none; empty when the file did not get as far.
    std::string schema;
    // A bundle id this host knows that is close to the file's "kext" when
    // that one is not loaded (a likely typo), else empty.
    std::string did_you_mean;
};

// Exit statuses of a check, the same for kextconfd --check and
// kextconfctl config check.
inline constexpr int kExitValid = 0;
inline constexpr int kExitInvalid = 1;
// The values could not be checked (no kext loaded, no --schema, no saved
// schema); the file's syntax and structure are good.
inline constexpr int kExitUnchecked = 3;

CheckReport check_config(const CheckOptions& o);
int exit_status(const CheckReport& r);
// One `file:line:col: error: ...` line per error, each ending in '\n'.
std::string diagnostics_text(const CheckReport& r);
// The one verdict line, "FILE: OK (schema: ...)" or "FILE: N errors ...".
std::string verdict_text(const CheckReport& r);
// {"file","ok","verdict","values_checked","schema","errors":[{file,line,col,message,text}],"did_you_mean"?,"exit_status"}
nlohmann::json to_json(const CheckReport& r);

// Prints {"kext": ..., "tunables": {...}} to stdout: every tunable, the
// file's values over the schema's defaults (only the file's values without a
// schema); the errors on stderr. Exit status: 0 printed, 1 the file is invalid.
int print_config(const CheckOptions& o);

} // namespace kextconf
