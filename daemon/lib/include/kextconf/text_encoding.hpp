// The bytes of a configuration file as text: well-formed UTF-8, files saved
// as UTF-16 or UTF-32, and text made safe to print on a terminal. Pure
// functions; safe to call from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kextconf {

// Length of the well-formed UTF-8 sequence at t[i] (Unicode table 3-7, as
// nlohmann checks it), 0 if there is none.
std::size_t utf8_length(std::string_view t, std::size_t i);

// "UTF-16" or "UTF-32" when the text's first bytes look like a file saved so
// (a byte order mark, or ASCII with every other byte zero), else "".
std::string wide_encoding(std::string_view t);

// `text` safe to print on a terminal: printable ASCII and valid UTF-8 as they
// are, control characters, DEL, C1 controls and invalid bytes as \xNN.
std::string printable(std::string_view text);

// "0x1B".
std::string hex_byte(unsigned char c);

} // namespace kextconf
