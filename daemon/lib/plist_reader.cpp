// parse_plist: chooses the encoding by its magic bytes (plist_reader.hpp).
#include <kextconf/plist_reader.hpp>

#include "plist_parsers.hpp"

namespace kextconf {

namespace plist_detail {

void append_utf8(std::string& out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string unsupported_value(const std::string& path, const char* kind)
{
    return (path.empty() ? std::string("the document") : path) + ": a <" + kind +
           "> value is not a setting kextconf takes (integer, boolean, string or array)";
}

} // namespace plist_detail

std::optional<nlohmann::json> parse_plist(std::string_view bytes, std::string& error)
{
    if (bytes.substr(0, plist_detail::kBinaryMagic.size()) == plist_detail::kBinaryMagic)
        return plist_detail::parse_binary(bytes, error);
    return plist_detail::parse_xml(bytes, error);
}

} // namespace kextconf
