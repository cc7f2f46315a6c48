// kextconfd's one-shot modes: --check (validate a file and exit) and
// --print-config (print the effective configuration and exit). They run the
// daemon's load path (read with the ownership checks, parse, validate) and
// never change the kext.
//
// Which schema the values are checked against, first match wins:
//   1. --schema FILE (a document from `kextconfctl schema`, or a saved
//      schema.json), when given;
//   2. the running kext's describe answer (through its query control);
//   3. the schema kextconfd saved in --state-dir when it last connected;
//   4. none: syntax and structure only, and the output says so.
// The output always names the schema used.
//
// Threading: single-threaded, before any io_context exists.
#pragma once

#include <string>

namespace kextconf {

struct CheckOptions {
    std::string config_path;
    std::string schema_path; // --schema, or empty
    std::string state_dir;
};

// Exit status: 0 valid, 1 invalid. stderr: the diagnostics, one
// `file:line:col: error: ...` per line (as kextconfctl config check prints
// them); stdout: one verdict line naming the schema ("FILE: OK (schema:
// ...)" or "FILE: N errors (schema: ...)").
int check_config(const CheckOptions& o);
// Prints {"kext": ..., "tunables": {...}} to stdout: every tunable, the
// file's values over the schema's defaults (only the file's values without a
// schema). Exit status: 0 printed, 1 the file is invalid.
int print_config(const CheckOptions& o);

} // namespace kextconf
