// Usage errors as kextconfd and kextconfctl both report them: exit status 2,
// the word that is wrong named, the nearest command or option suggested
// ("unknown command \"stat\"; did you mean \"status\"?"), whatever CLI11
// checks first. Single-threaded, like the command lines it reads.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace kextconf::cli {

// Exit status of a usage error (bad command line), for both programs.
inline constexpr int kExitUsage = 2;

// What is wrong with `argv` for `app`: the first unknown command or option,
// or a missing command, with the nearest that exists; "" when none of these
// (then CLI11's own message says what).
std::string find_usage_problem(const CLI::App& app, int argc, const char* const* argv);

// Parses `argv` into `app`. nullopt: go on and run. Otherwise the exit status
// to return at once: 0 after --help or --version, kExitUsage after printing
// the usage error as "program: message" on stderr, or with `json_errors` as
// {"error": ..., "exit_status": 2} on stdout.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, bool json_errors);

} // namespace kextconf::cli
