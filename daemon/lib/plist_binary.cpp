// The binary property list ("bplist00", what CFPreferences writes): a
// trailer at the end locates the offset table, which locates each object;
// containers hold object references. Every size, offset and reference is
// checked against the file; nesting is bounded (which also stops reference
// cycles) and so is the work, so shared references cannot make a small file
// expand into a huge document.
#include "plist_parsers.hpp"

#include <kextconf/plist_reader.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace kextconf::plist_detail {

namespace {

using nlohmann::json;

constexpr std::size_t kTrailerSize = 32;
// Objects visited and string bytes produced, at most: far above any real
// preferences file, far below what would hurt the daemon.
constexpr std::size_t kMaxVisits = 1u << 20;
constexpr std::size_t kMaxOutputBytes = 64u << 20;

class BinaryPlist {
public:
    explicit BinaryPlist(std::string_view b) : b_(b) {}

    std::optional<json> parse(std::string& error)
    {
        json out;
        if (!trailer() || !object(top_, out, "", 0)) {
            error = "binary property list: " + error_;
            return std::nullopt;
        }
        return out;
    }

private:
    bool fail(const std::string& msg)
    {
        if (error_.empty())
            error_ = msg;
        return false;
    }

    // Big-endian unsigned integer of `size` (1..8) bytes at `at`; the caller checked the bounds.
    std::uint64_t be(std::size_t at, std::size_t size) const
    {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < size; ++i)
            v = (v << 8) | static_cast<unsigned char>(b_[at + i]);
        return v;
    }

    bool trailer()
    {
        if (b_.size() < 8 + 1 + kTrailerSize)
            return fail("too short to hold a trailer");
        const std::size_t t = b_.size() - kTrailerSize;
        offset_size_ = static_cast<unsigned char>(b_[t + 6]);
        ref_size_ = static_cast<unsigned char>(b_[t + 7]);
        const std::uint64_t count = be(t + 8, 8), top = be(t + 16, 8), table = be(t + 24, 8);
        if (offset_size_ < 1 || offset_size_ > 8 || ref_size_ < 1 || ref_size_ > 8)
            return fail("the trailer's integer sizes are not 1 to 8 bytes");
        if (count == 0 || top >= count || table < 8 || table > t || count > (t - table) / offset_size_)
            return fail("the trailer's object count, top object or offset table do not fit the file");
        count_ = count;
        top_ = top;
        table_ = table;
        return true;
    }

    // The byte range [at, at + size) lies in the object area.
    bool fits(std::uint64_t at, std::uint64_t size) const { return at <= table_ && size <= table_ - at; }

    // The count of the object with marker low nibble `low` at `at`; `at` moves past it.
    bool count_of(unsigned low, std::uint64_t& at, std::uint64_t& count)
    {
        ++at;
        if (low != 0xF)
            return count = low, true;
        if (!fits(at, 1))
            return fail("an object's size is outside the file");
        const unsigned marker = static_cast<unsigned char>(b_[at]);
        const std::uint64_t size = std::uint64_t{1} << (marker & 0xF);
        if ((marker >> 4) != 0x1 || size > 8 || !fits(at + 1, size))
            return fail("an object's size is not an integer in the file");
        count = be(at + 1, size);
        at += 1 + size;
        return true;
    }

    bool ref(std::uint64_t at, std::uint64_t& out)
    {
        out = be(at, ref_size_);
        return out < count_ || fail("a reference points past the last object");
    }

    bool integer(unsigned low, std::uint64_t at, json& out)
    {
        if (low > 4 || !fits(at + 1, std::uint64_t{1} << low))
            return fail("an integer's size is outside the file");
        if (low == 4) { // 16 bytes: CF writes an unsigned 64-bit value above INT64_MAX so
            if (be(at + 1, 8) != 0)
                return fail("an integer does not fit 64 bits");
            return out = be(at + 9, 8), true;
        }
        const std::uint64_t v = be(at + 1, std::size_t{1} << low);
        // 1, 2 and 4 bytes are unsigned; 8 bytes are signed.
        if (low == 3)
            out = static_cast<std::int64_t>(v);
        else
            out = v;
        return true;
    }

    bool real(unsigned low, std::uint64_t at, const std::string& path, json& out)
    {
        if ((low != 2 && low != 3) || !fits(at + 1, std::uint64_t{1} << low))
            return fail("a real's size is not 4 or 8 bytes inside the file");
        double d = 0;
        if (low == 2) {
            const auto bits = static_cast<std::uint32_t>(be(at + 1, 4));
            float f = 0;
            std::memcpy(&f, &bits, sizeof f);
            d = f;
        } else {
            const std::uint64_t bits = be(at + 1, 8);
            std::memcpy(&d, &bits, sizeof d);
        }
        if (!std::isfinite(d))
            return fail((path.empty() ? "the document" : path) + ": a <real> that is not a finite number");
        return out = d, true;
    }

    bool string(unsigned high, unsigned low, std::uint64_t at, std::string& out)
    {
        std::uint64_t n = 0;
        if (!count_of(low, at, n))
            return false;
        const std::uint64_t unit = high == 0x6 ? 2 : 1;
        if (n > table_ / unit || !fits(at, n * unit))
            return fail("a string runs outside the file");
        if ((produced_ += n * unit) > kMaxOutputBytes)
            return fail("the strings expand past " + std::to_string(kMaxOutputBytes >> 20) + " MiB");
        if (unit == 1) { // ASCII; a stray high byte is read as Latin-1
            for (std::uint64_t i = 0; i < n; ++i)
                append_utf8(out, static_cast<unsigned char>(b_[at + i]));
            return true;
        }
        for (std::uint64_t i = 0; i < n; ++i) {
            std::uint32_t cp = static_cast<std::uint32_t>(be(at + 2 * i, 2));
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n) {
                const auto lo = static_cast<std::uint32_t>(be(at + 2 * (i + 1), 2));
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    ++i;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                return fail("a UTF-16 string holds an unpaired surrogate");
            append_utf8(out, cp);
        }
        return true;
    }

    bool container(unsigned high, unsigned low, std::uint64_t at, const std::string& path, std::size_t depth, json& out)
    {
        std::uint64_t n = 0;
        if (!count_of(low, at, n))
            return false;
        const std::uint64_t refs = high == 0xD ? 2 : 1;
        if (n > table_ / (refs * ref_size_) || !fits(at, n * refs * ref_size_))
            return fail("a container's references run outside the file");
        out = high == 0xD ? json::object() : json::array();
        for (std::uint64_t i = 0; i < n; ++i) {
            std::uint64_t value_ref = 0;
            if (high == 0xA) {
                if (!ref(at + i * ref_size_, value_ref))
                    return false;
                out.push_back(json());
                if (!object(value_ref, out.back(), path + "[" + std::to_string(i) + "]", depth + 1))
                    return false;
                continue;
            }
            std::uint64_t key_ref = 0;
            json key;
            if (!ref(at + i * ref_size_, key_ref) || !ref(at + (n + i) * ref_size_, value_ref) ||
                !object(key_ref, key, path, depth + 1))
                return false;
            if (!key.is_string())
                return fail((path.empty() ? "the root dictionary" : path) + " has a key that is not a string");
            const std::string& name = key.get_ref<const std::string&>();
            if (out.contains(name))
                return fail("duplicate key \"" + name + "\" in " + (path.empty() ? "the root dictionary" : path));
            if (!object(value_ref, out[name], plist_key_path(path, name), depth + 1))
                return false;
        }
        return true;
    }

    bool object(std::uint64_t index, json& out, const std::string& path, std::size_t depth)
    {
        if (depth > kMaxPlistDepth)
            return fail("nested deeper than " + std::to_string(kMaxPlistDepth) + " levels");
        if (++visits_ > kMaxVisits)
            return fail("more than " + std::to_string(kMaxVisits) + " objects to read");
        const std::uint64_t at = be(table_ + index * offset_size_, offset_size_);
        if (at < 8 || !fits(at, 1))
            return fail("object " + std::to_string(index) + "'s offset is outside the object area");
        const unsigned marker = static_cast<unsigned char>(b_[at]), high = marker >> 4, low = marker & 0xF;
        switch (high) {
        case 0x0:
            if (marker != 0x08 && marker != 0x09)
                return fail("object " + std::to_string(index) + " has the unsupported marker " +
                            std::to_string(marker));
            return out = marker == 0x09, true;
        case 0x1: return integer(low, at, out);
        case 0x2: return real(low, at, path, out);
        case 0x3: return fail(unsupported_value(path, "date"));
        case 0x4: return fail(unsupported_value(path, "data"));
        case 0x5:
        case 0x6: {
            std::string s;
            if (!string(high, low, at, s))
                return false;
            return out = std::move(s), true;
        }
        case 0x8: return fail(unsupported_value(path, "UID"));
        case 0xA:
        case 0xD: return container(high, low, at, path, depth, out);
        default: return fail("object " + std::to_string(index) + " has the unknown marker " + std::to_string(marker));
        }
    }

    std::string_view b_;
    unsigned offset_size_ = 0, ref_size_ = 0;
    std::uint64_t count_ = 0, top_ = 0, table_ = 0;
    std::size_t visits_ = 0;
    std::uint64_t produced_ = 0;
    std::string error_;
};

} // namespace

std::optional<json> parse_binary(std::string_view bytes, std::string& error)
{
    return BinaryPlist(bytes).parse(error);
}

} // namespace kextconf::plist_detail
