// See text_encoding.hpp.
#include <kextconf/text_encoding.hpp>

#include <cstdio>

namespace kextconf {

std::string hex_byte(unsigned char c)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(c));
    return buf;
}

std::size_t utf8_length(std::string_view t, std::size_t i)
{
    const auto b = [&](std::size_t k) { return i + k < t.size() ? static_cast<unsigned char>(t[i + k]) : 0u; };
    const auto in = [](unsigned x, unsigned lo, unsigned hi) { return x >= lo && x <= hi; };
    const auto tail = [&](std::size_t from, std::size_t n) {
        for (std::size_t k = from; k < n; ++k)
            if (!in(b(k), 0x80, 0xBF))
                return false;
        return true;
    };
    const unsigned c = b(0);
    if (c < 0x80)
        return 1;
    if (in(c, 0xC2, 0xDF))
        return tail(1, 2) ? 2 : 0;
    if (c == 0xE0)
        return in(b(1), 0xA0, 0xBF) && tail(2, 3) ? 3 : 0;
    if (c == 0xED)
        return in(b(1), 0x80, 0x9F) && tail(2, 3) ? 3 : 0;
    if (in(c, 0xE1, 0xEF))
        return tail(1, 3) ? 3 : 0;
    if (c == 0xF0)
        return in(b(1), 0x90, 0xBF) && tail(2, 4) ? 4 : 0;
    if (c == 0xF4)
        return in(b(1), 0x80, 0x8F) && tail(2, 4) ? 4 : 0;
    if (in(c, 0xF1, 0xF3))
        return tail(1, 4) ? 4 : 0;
    return 0;
}

std::string wide_encoding(std::string_view t)
{
    const auto b = [&](std::size_t k) { return k < t.size() ? static_cast<unsigned char>(t[k]) : 0x100u; };
    if (b(0) == 0xFF && b(1) == 0xFE && b(2) == 0 && b(3) == 0)
        return "UTF-32";
    if (b(0) == 0 && b(1) == 0 && b(2) == 0xFE && b(3) == 0xFF)
        return "UTF-32";
    if ((b(0) == 0xFF && b(1) == 0xFE) || (b(0) == 0xFE && b(1) == 0xFF))
        return "UTF-16";
    // No byte order mark: ASCII text with every other byte zero.
    if (t.size() >= 4 && b(0) != 0 && b(1) == 0 && b(2) == 0 && b(3) == 0)
        return "UTF-32";
    if (t.size() >= 2 && ((b(0) != 0 && b(1) == 0) || (b(0) == 0 && b(1) != 0)))
        return "UTF-16";
    return "";
}

std::string printable(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t n = c >= 0x80 ? utf8_length(text, i) : 1;
        const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
        if (c >= 0x20 && c < 0x7F) {
            out += static_cast<char>(c);
            ++i;
        } else if (c >= 0x80 && n > 0 && !c1) {
            out.append(text.substr(i, n));
            i += n;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
            out += buf;
            ++i;
        }
    }
    return out;
}

} // namespace kextconf
