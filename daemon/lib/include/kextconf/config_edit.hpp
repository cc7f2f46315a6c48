// `kextconfctl set --persist` and kextconfd's "persist" command: changing tunables in the configuration file
// the way an editor would, keeping its comments and layout, and replacing the
// file atomically so that kextconfd (which reloads on change) never reads a
// half-written file. Pure functions; any thread. (The edited text is written with
// kextconf/file.hpp's replace_file_atomically.)
#pragma once

#include <kextconf/config_loader.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace kextconf {

// `text` (parsed as `doc`) with each member of `updates` (name -> JSON value)
// set under "tunables": an existing value is replaced in place, a new member
// goes first in the object with the indentation of its neighbours. Comments
// and everything else are kept byte for byte. nullopt if the text could not
// be edited in place (the caller may then write the document out whole).
std::optional<std::string> edit_tunables(const std::string& text, const ConfigDocument& doc,
                                         const nlohmann::json& updates);

// A configuration file's text with tunables changed.
struct EditedConfig {
    std::string text;
    bool kept_comments = true; // false: the edit in place failed and the document was written out whole
};

// `text` (parsed as `doc`, read from `path`) with `values` set under
// "tunables" (in place where it can, else the whole document rewritten), the
// result checked as kextconfd would check the file against `schema`. nullopt
// with `errors` (file:line:col: error: ...) if the new file would not be
// accepted: never save what kextconfd would refuse.
std::optional<EditedConfig> edit_config(const std::string& text, const ConfigDocument& doc,
                                        const nlohmann::json& values, const std::vector<proto::TunableDesc>& schema,
                                        const std::string& path, std::vector<std::string>& errors);

} // namespace kextconf
