// kextconfctl's command groups, one file each; main.cpp wires them up.
#pragma once

#include "common.hpp"

#include <kextconf/codec.hpp>

namespace kextconf::ctl {

void add_read_commands(CLI::App& app, Options& o, Command& run);   // status, get, describe (read_commands.cpp)
void add_schema_command(CLI::App& app, Options& o, Command& run);  // schema (schema_command.cpp)
void add_set_command(CLI::App& app, Options& o, Command& run);     // set (set_command.cpp)
void add_config_commands(CLI::App& app, Options& o, Command& run); // config check, reload (config_commands.cpp)
void add_events_command(CLI::App& app, Options& o, Command& run);  // events (events_command.cpp)
void add_kext_commands(CLI::App& app, Options& o, Command& run);   // kext load|unload|status (kext_commands.cpp)
void add_top_command(CLI::App& app, Options& o, Command& run);     // top (top.cpp)
void add_profile_command(CLI::App& app, Options& o, Command& run); // profile (profile_command.cpp)

// `get [NAME...]` (read_commands.cpp): main.cpp runs it without the parser
// when no word of the command line is an option.
int get_command(const Options& o, const std::vector<std::string>& names);

// A value for a summary line: a list longer than a few entries as its size.
std::string format_summary(const proto::TunableDesc& d, const proto::Value& v);
// "[0, 4096]", "one of error|warn|info", "up to 64 bytes".
// Asks kextconfd to reload and prints its answer (config_commands.cpp).
int ask_daemon_reload(const Options& o);

std::string describe_bounds(const proto::TunableDesc& d);
// One tunable for `describe --json`.
nlohmann::json describe_json(const proto::TunableDesc& d);

} // namespace kextconf::ctl
