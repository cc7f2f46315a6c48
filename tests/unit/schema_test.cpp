// Descriptors <-> JSON Schema (daemon/lib/schema.hpp): every type and flag
// survives the round trip exactly, including the extremes of the ranges, and
// a damaged document is refused with file:line:col.
#include <kextconf/schema.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using namespace kextconf;
using nlohmann::json;
using proto::TunableDesc;
using proto::Value;

namespace {

TunableDesc desc(std::uint32_t index, const std::string& name, std::uint32_t type, Value def)
{
    TunableDesc d;
    d.index = index;
    d.name = name;
    d.type = type;
    d.def = std::move(def);
    d.help = "help for " + name;
    return d;
}

KextSchema sample()
{
    KextSchema s{"org.example.kext", "1.2.3", 1, {}};
    auto b = desc(0, "enabled", KC_TYPE_BOOL, Value::of_bool(true));
    auto i = desc(1, "offset", KC_TYPE_INT64, Value::of_int(-5));
    i.min.i = std::numeric_limits<std::int64_t>::min();
    i.max.i = std::numeric_limits<std::int64_t>::max();
    i.unit = "ms";
    auto u = desc(2, "limit", KC_TYPE_UINT64, Value::of_uint(std::numeric_limits<std::uint64_t>::max()));
    u.min.u = 1;
    u.max.u = std::numeric_limits<std::uint64_t>::max();
    u.flags = KC_TF_LOAD_ONLY;
    auto e = desc(3, "level", KC_TYPE_ENUM, Value::of_enum(2));
    e.enum_names = {"error", "warn", "info", "debug"};
    auto str = desc(4, "label", KC_TYPE_STRING, Value::of_string("default"));
    str.max_count = 63;
    str.flags = KC_TF_HIDDEN | 0x10; // a flag this kextconf has no name for survives as a number
    auto il = desc(6, "ports", KC_TYPE_INT64_LIST, Value::of_ints({}));
    il.min.i = 1;
    il.max.i = 65535;
    il.max_count = 16;
    auto sl = desc(7, "names", KC_TYPE_STRING_LIST, Value::of_strings({}));
    sl.max_count = 8;
    sl.help = "";
    s.tunables = {b, i, u, e, str, il, sl};
    return s;
}

void expect_same(const TunableDesc& a, const TunableDesc& b)
{
    SCOPED_TRACE(a.name);
    EXPECT_EQ(a.index, b.index);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.flags, b.flags);
    EXPECT_EQ(a.max_count, b.max_count);
    EXPECT_EQ(a.min.u, b.min.u);
    EXPECT_EQ(a.max.u, b.max.u);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.unit, b.unit);
    EXPECT_EQ(a.help, b.help);
    EXPECT_EQ(a.enum_names, b.enum_names);
    EXPECT_TRUE(a.def == b.def);
}

std::string errors_of(const std::string& text)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(schema_from_text(text, "s.json", errors));
    std::string out;
    for (const auto& d : errors)
        out += d.str() + "\n";
    return out;
}

TEST(Schema, RoundTripKeepsEveryField)
{
    const KextSchema s = sample();
    const std::string text = schema_to_json(s).dump(2);
    std::vector<Diagnostic> errors;
    const auto back = schema_from_text(text, "s.json", errors);
    ASSERT_TRUE(back) << (errors.empty() ? "" : errors[0].str());
    EXPECT_EQ(back->bundle_id, s.bundle_id);
    EXPECT_EQ(back->kext_version, s.kext_version);
    EXPECT_EQ(back->proto_version, s.proto_version);
    ASSERT_EQ(back->tunables.size(), s.tunables.size());
    for (std::size_t i = 0; i < s.tunables.size(); ++i)
        expect_same(back->tunables[i], s.tunables[i]);
    // And the wire form of each descriptor is identical byte for byte.
    for (std::size_t i = 0; i < s.tunables.size(); ++i) {
        const kc_tunable_desc a = s.tunables[i].to_wire(), b = back->tunables[i].to_wire();
        EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << s.tunables[i].name;
    }
}

TEST(Schema, StandardKeywordsDescribeTheFile)
{
    const json j = schema_to_json(sample());
    EXPECT_EQ(j.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
    EXPECT_EQ(j.at("properties").at("kext").at("const"), "org.example.kext");
    const json& t = j.at("properties").at("tunables").at("properties");
    EXPECT_EQ(j.at("properties").at("tunables").at("additionalProperties"), false);
    EXPECT_EQ(t.at("enabled").at("type"), "boolean");
    EXPECT_EQ(t.at("offset").at("minimum"), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(t.at("limit").at("maximum"), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(t.at("level").at("enum"), json({"error", "warn", "info", "debug"}));
    EXPECT_EQ(t.at("level").at("default"), "info");
    EXPECT_EQ(t.at("label").at("maxLength"), 63);
    EXPECT_EQ(t.at("ports").at("items").at("maximum"), 65535);
    EXPECT_EQ(t.at("ports").at("maxItems"), 16);
    EXPECT_EQ(t.at("limit").at("x-kextconf").at("flags"), json({"load-only"}));
    EXPECT_EQ(t.at("label").at("x-kextconf").at("flags"), json({"hidden", 16}));
    EXPECT_EQ(j.at("x-kextconf").at("format"), kSchemaFormat);
}

TEST(Schema, NotAKextconfSchema)
{
    EXPECT_EQ(errors_of("{\"type\": \"object\"}"),
              "s.json:1:1: error: not a kextconf schema: no \"x-kextconf\" object at the top (export one with "
              "`kextconfctl schema`, or use the schema.json kextconfd saves in its state directory)\n");
    EXPECT_EQ(errors_of("{\"x-kextconf\": "),
              "s.json:1:16: error: the file ends where the value of \"x-kextconf\" should be\n");
}

TEST(Schema, DamagedDescriptorsNamePosition)
{
    json j = schema_to_json(sample());
    auto& t = j["properties"]["tunables"]["properties"];
    t["enabled"]["x-kextconf"]["type"] = "int32";
    t["offset"]["x-kextconf"]["min"] = 10;
    t["offset"]["x-kextconf"]["max"] = 1;
    t["level"]["x-kextconf"]["default"] = "loud";
    t["label"]["x-kextconf"]["flags"] = {"sticky"};
    t["names"]["x-kextconf"]["index"] = 6; // same as ports
    const std::string text = j.dump(1);
    const std::string out = errors_of(text);
    // Each message points at the offending value.
    auto pos = [&](const std::string& needle) {
        const auto at = text.find(needle);
        int line = 1, col = 1;
        for (std::size_t k = 0; k < at; ++k)
            text[k] == '\n' ? (++line, col = 1) : ++col;
        return "s.json:" + std::to_string(line) + ":" + std::to_string(col) + ": ";
    };
    EXPECT_NE(out.find(pos("\"int32\"") + "error: unknown type \"int32\""), std::string::npos) << out;
    EXPECT_NE(out.find(pos("\"loud\"") + "error: default must be"), std::string::npos) << out;
    EXPECT_NE(out.find("error: min 10 is above max 1"), std::string::npos) << out;
    EXPECT_NE(out.find("error: default must be one of the enum's names, got \"loud\""), std::string::npos) << out;
    EXPECT_NE(out.find("error: unknown flag \"sticky\""), std::string::npos) << out;
    EXPECT_NE(out.find("error: index 6 is used twice"), std::string::npos) << out;
}

TEST(Schema, ContractLimitsAreChecked)
{
    json j = schema_to_json(sample());
    auto& x = j["properties"]["tunables"]["properties"]["label"]["x-kextconf"];
    x["unit"] = std::string(KC_UNIT_MAX, 'u');
    x["default"] = std::string(100, 'd'); // over max_count 63
    const std::string out = errors_of(j.dump());
    EXPECT_NE(out.find("\"unit\" is 16 bytes, longer than the contract allows (15)"), std::string::npos) << out;

    json k = schema_to_json(sample());
    k["properties"]["tunables"]["properties"]["label"]["x-kextconf"]["default"] = std::string(100, 'd');
    EXPECT_NE(errors_of(k.dump()).find("default string is 100 bytes"), std::string::npos);

    json f = schema_to_json(sample());
    f["x-kextconf"]["format"] = 2;
    EXPECT_NE(errors_of(f.dump()).find("schema format 2 is not supported"), std::string::npos);
}

} // namespace
