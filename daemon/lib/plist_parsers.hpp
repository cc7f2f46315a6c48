// Internal to plist_reader.cpp: the two encodings' parsers. Each returns the
// document's value or nullopt with `error` set. Pure; any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kextconf::plist_detail {

inline constexpr std::string_view kBinaryMagic = "bplist00";

std::optional<nlohmann::json> parse_xml(std::string_view text, std::string& error);
std::optional<nlohmann::json> parse_binary(std::string_view bytes, std::string& error);

// Appends code point `cp` (at most 0x10FFFF, not a surrogate) as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp);

// "a <date>" / "a <data>" value found at `path`: no JSON form.
std::string unsupported_value(const std::string& path, const char* kind);

} // namespace kextconf::plist_detail
