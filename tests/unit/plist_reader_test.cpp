// The plist reader (kextconf/plist_reader.hpp) held against libplist, an
// independent implementation: documents libplist writes, in XML and binary,
// must read back as the same values; and the managed-preferences payload's
// errors (kextconf/managed_prefs.hpp) word exactly what is wrong and where.
#include <kextconf/managed_prefs.hpp>
#include <kextconf/plist_reader.hpp>

#include <gtest/gtest.h>
#include <plist/plist.h>

#include <cstdint>
#include <memory>
#include <string>

namespace {

using kextconf::parse_plist;
using nlohmann::json;

struct PlistDeleter {
    void operator()(void* p) const { plist_free(static_cast<plist_t>(p)); }
};
using PlistPtr = std::unique_ptr<void, PlistDeleter>;

enum class Format { Xml, Binary };

// What libplist writes for `p` in `format`.
std::string written(const PlistPtr& p, Format format)
{
    const auto node = static_cast<plist_t>(p.get());
    char* out = nullptr;
    std::uint32_t len = 0;
    format == Format::Xml ? plist_to_xml(node, &out, &len) : plist_to_bin(node, &out, &len);
    std::string s(out, len);
    format == Format::Xml ? plist_to_xml_free(out) : plist_to_bin_free(out);
    return s;
}

// A payload with every kind of value a profile holds.
PlistPtr sample()
{
    plist_t root = plist_new_dict();
    plist_dict_set_item(root, "Kext", plist_new_string("org.kextconf.reference"));
    plist_t t = plist_new_dict();
    plist_dict_set_item(t, "max_clients", plist_new_uint(100));
    plist_dict_set_item(t, "enabled", plist_new_bool(1));
    plist_dict_set_item(t, "label", plist_new_string("caf\xC3\xA9 <&> \"q\" \xF0\x9F\x98\x80"));
    plist_dict_set_item(t, "big", plist_new_uint(1ull << 40));
    plist_t ports = plist_new_array();
    plist_array_append_item(ports, plist_new_uint(135));
    plist_array_append_item(ports, plist_new_uint(445));
    plist_dict_set_item(t, "blocked_ports", ports);
    plist_t paths = plist_new_array();
    plist_array_append_item(paths, plist_new_string("/usr/libexec"));
    plist_dict_set_item(t, "trusted_paths", paths);
    plist_dict_set_item(t, "empty", plist_new_array());
    plist_dict_set_item(root, "Tunables", t);
    return PlistPtr(root);
}

json expected_sample()
{
    return {{"Kext", "org.kextconf.reference"},
            {"Tunables",
             {{"max_clients", 100},
              {"enabled", true},
              {"label", "caf\xC3\xA9 <&> \"q\" \xF0\x9F\x98\x80"},
              {"big", 1ull << 40},
              {"blocked_ports", {135, 445}},
              {"trusted_paths", {"/usr/libexec"}},
              {"empty", json::array()}}}};
}

TEST(PlistReader, ReadsWhatLibplistWritesInXmlAndBinary)
{
    const PlistPtr p = sample();
    for (const Format format : {Format::Xml, Format::Binary}) {
        std::string error;
        const auto doc = parse_plist(written(p, format), error);
        ASSERT_TRUE(doc) << error;
        EXPECT_EQ(*doc, expected_sample());
    }
}

TEST(PlistReader, ReadsNegativeIntegersRealsAndEntities)
{
    std::string error;
    const auto doc = parse_plist(R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<!-- a comment -->
<dict>
  <key>a&amp;b</key><integer>-42</integer>
  <key>r</key><real>1.5</real>
  <key>s</key><string>&#x41;&#66;<![CDATA[<raw>]]></string>
  <key>e</key><string/>
  <key>f</key><false/>
</dict>
</plist>
)",
                                 error);
    ASSERT_TRUE(doc) << error;
    EXPECT_EQ(*doc, json({{"a&b", -42}, {"r", 1.5}, {"s", "AB<raw>"}, {"e", ""}, {"f", false}}));
}

struct BadCase {
    const char* text;
    const char* error;
};

TEST(PlistReader, RefusesWhatItCannotRepresentNamingWhere)
{
    const BadCase cases[] = {
        {"<plist><dict><key>Tunables</key><dict><key>x</key><date>2026-01-01T00:00:00Z</date></dict></dict></plist>",
         "line 1: Tunables.x: a <date> value is not a setting kextconf takes (integer, boolean, string or array)"},
        {"<plist><dict><key>a</key><array><data>AAAA</data></array></dict></plist>",
         "line 1: a[0]: a <data> value is not a setting kextconf takes (integer, boolean, string or array)"},
        {"<plist><dict><key>a</key><integer>lots</integer></dict></plist>",
         "line 1: a: <integer> \"lots\" is not a decimal integer of 64 bits"},
        {"<plist><dict><key>a</key><integer>99999999999999999999</integer></dict></plist>",
         "line 1: a: <integer> \"99999999999999999999\" is not a decimal integer of 64 bits"},
        {"<plist><dict><key>a</key><true/><key>a</key><false/></dict></plist>",
         "line 1: duplicate key \"a\" in the dictionary"},
        {"<plist>\n<dict>\n<string>x</string></dict></plist>",
         "line 3: expected <key> or </dict> in the dictionary, found <string>"},
        {"<plist><dict></dict></plist>trailing", "line 1: text after the end of the property list"},
        {"<plist><string>a &nbsp; b</string></plist>", "line 1: unknown entity &nbsp;"},
        {"<plist><string>\xE9</string></plist>", "line 1: byte 0xE9 in <string> is not UTF-8"},
        {"<plist><dict>", "line 1: the document ends where an element was expected"},
        {"bplist00", "binary property list: too short to hold a trailer"},
    };
    for (const auto& c : cases) {
        std::string error;
        EXPECT_FALSE(parse_plist(c.text, error)) << c.text;
        EXPECT_EQ(error, c.error) << c.text;
    }
}

TEST(PlistReader, BoundsNesting)
{
    std::string deep;
    for (int i = 0; i < 100; ++i)
        deep += "<array>";
    std::string error;
    EXPECT_FALSE(parse_plist("<plist>" + deep, error));
    EXPECT_EQ(error, "line 1: nested deeper than 64 levels");
}

TEST(PlistReader, RefusesABinaryFileCutShortOrWithBadOffsets)
{
    const PlistPtr p = sample();
    const std::string bin = written(p, Format::Binary);
    // Every truncation and every single-byte change either reads or is refused; none crashes.
    for (std::size_t n = 0; n < bin.size(); ++n) {
        std::string error;
        if (!parse_plist(bin.substr(0, n), error)) {
            EXPECT_FALSE(error.empty());
        }
    }
    for (std::size_t i = 8; i < bin.size(); ++i) {
        std::string mutated = bin;
        mutated[i] = static_cast<char>(mutated[i] ^ 0xFF);
        std::string error;
        if (!parse_plist(mutated, error)) {
            EXPECT_FALSE(error.empty()) << i;
        }
    }
}

std::vector<kextconf::proto::TunableDesc> reference_like_schema()
{
    kextconf::proto::TunableDesc d;
    d.index = 0;
    d.type = KC_TYPE_UINT64;
    d.name = "max_clients";
    d.min.u = 1;
    d.max.u = 1024;
    d.def = kextconf::proto::Value::of_uint(64);
    kextconf::proto::TunableDesc b;
    b.index = 1;
    b.type = KC_TYPE_BOOL;
    b.name = "enabled";
    b.def = kextconf::proto::Value::of_bool(true);
    return {d, b};
}

TEST(ManagedPrefs, ErrorsNameTheDomainKeyPathAndExpectedType)
{
    const std::string xml = "<plist><dict><key>Kext</key><string>org.kextconf.reference</string>"
                            "<key>Tunables</key><dict><key>max_clients</key><string>lots</string>"
                            "<key>enabeld</key><true/></dict></dict></plist>";
    std::vector<kextconf::Diagnostic> errors;
    const auto prefs =
        kextconf::parse_managed_prefs(xml, "/m/org.kextconf.kextconfd.plist", errors, "org.kextconf.kextconfd");
    ASSERT_TRUE(prefs);
    EXPECT_EQ(prefs->kext, "org.kextconf.reference");
    EXPECT_TRUE(prefs->manages("max_clients"));
    EXPECT_FALSE(kextconf::validate_managed(*prefs, reference_like_schema(), errors));
    ASSERT_EQ(errors.size(), 2u);
    // In key order, as the payload's dictionary is read.
    EXPECT_EQ(errors[0].str(),
              "org.kextconf.kextconfd: error: Tunables.enabeld: unknown tunable; did you mean \"enabled\"?");
    EXPECT_EQ(errors[1].str(), "org.kextconf.kextconfd: error: Tunables.max_clients: expected an unsigned integer in "
                               "[1, 1024], got the string \"lots\"");
}

TEST(ManagedPrefs, RefusesUnknownKeysAndWrongShapes)
{
    std::vector<kextconf::Diagnostic> errors;
    EXPECT_FALSE(kextconf::parse_managed_prefs(
        "<plist><dict><key>Tunable</key><dict/><key>Kext</key><integer>1</integer></dict></plist>", "p", errors,
        "org.kextconf.kextconfd"));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].str(), "org.kextconf.kextconfd: error: Kext: expected the kext's bundle id (a non-empty "
                               "string), got the integer 1");
    EXPECT_EQ(errors[1].str(), "org.kextconf.kextconfd: error: Tunable: unknown key (the payload's keys are Kext and "
                               "Tunables); did you mean \"Tunables\"?");
    errors.clear();
    EXPECT_FALSE(kextconf::parse_managed_prefs("<plist><array/></plist>", "p", errors, "d"));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].str(), "d: error: the payload must be a dictionary (with Kext and Tunables), got an array");
}

} // namespace
