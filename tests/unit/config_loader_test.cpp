// Tests for daemon/lib/config_loader: parsing with positions, top-level shape,
// validation against a kext schema, and safe file reading.
#include <kextconf/config_loader.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <time.h>

namespace kextconf {
namespace {

using proto::TunableDesc;
using proto::Value;

TunableDesc make_desc(std::uint32_t index, std::string name, std::uint32_t type)
{
    TunableDesc d;
    d.index = index;
    d.type = type;
    d.name = std::move(name);
    d.def.type = type;
    return d;
}

TunableDesc int_desc(std::uint32_t index, std::string name, std::int64_t lo, std::int64_t hi)
{
    TunableDesc d = make_desc(index, std::move(name), KC_TYPE_INT64);
    d.min.i = lo;
    d.max.i = hi;
    return d;
}

// A schema with one tunable of each type, deliberately not in index order.
std::vector<TunableDesc> test_schema()
{
    std::vector<TunableDesc> s;
    s.push_back(make_desc(0, "verbose", KC_TYPE_BOOL));
    s.push_back(int_desc(1, "max_clients", 1, 1024));
    TunableDesc u = make_desc(2, "buffer_bytes", KC_TYPE_UINT64);
    u.min.u = 4096;
    u.max.u = 1u << 20;
    s.push_back(u);
    TunableDesc e = make_desc(3, "mode", KC_TYPE_ENUM);
    e.enum_names = {"fast", "safe", "off"};
    s.push_back(e);
    TunableDesc str = make_desc(4, "banner", KC_TYPE_STRING);
    str.max_count = 16;
    s.push_back(str);
    TunableDesc ports = make_desc(5, "ports", KC_TYPE_INT64_LIST);
    ports.min.i = 1;
    ports.max.i = 65535;
    ports.max_count = 4;
    s.push_back(ports);
    TunableDesc allow = make_desc(6, "allow", KC_TYPE_STRING_LIST);
    allow.max_count = 3;
    allow.max.u = 32; // longest element (proto.h: string lists keep it in max.u)
    s.push_back(allow);
    s.push_back(int_desc(8, "boot_only", 0, 10));
    s.back().flags = KC_TF_LOAD_ONLY;
    s.push_back(int_desc(7, "offset", -100, 100));
    TunableDesc big = make_desc(9, "huge", KC_TYPE_UINT64);
    big.max.u = UINT64_MAX;
    s.push_back(big);
    return s;
}

const std::string kFile = "kextconf.json";

std::optional<ConfigDocument> parse(std::string_view text, std::vector<Diagnostic>& errors)
{
    return parse_config(text, kFile, errors);
}

std::optional<ValidatedConfig> validate(const std::string& tunables, std::vector<Diagnostic>& errors)
{
    const std::string text = "{\n\"kext\": \"com.example.k\",\n\"tunables\": " + tunables + "\n}";
    auto doc = parse(text, errors);
    EXPECT_TRUE(doc.has_value()) << (errors.empty() ? "" : errors[0].str());
    if (!doc)
        return std::nullopt;
    return validate_config(*doc, test_schema(), errors);
}

// One error expected from parsing `text`: it as printed (file:line:col: error: ...).
std::string parse_error(std::string_view text)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse(text, errors));
    EXPECT_EQ(errors.size(), 1u);
    return errors.empty() ? "" : errors[0].str();
}

// One error expected from validating `tunables`: its message.
std::string only_error(const std::string& tunables)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(validate(tunables, errors).has_value());
    EXPECT_EQ(errors.size(), 1u);
    return errors.empty() ? "" : errors[0].message;
}

Value only_value(const std::string& tunables)
{
    std::vector<Diagnostic> errors;
    auto cfg = validate(tunables, errors);
    EXPECT_TRUE(errors.empty()) << errors[0].str();
    EXPECT_TRUE(cfg && cfg->values.size() == 1);
    return cfg && !cfg->values.empty() ? cfg->values[0].second : Value{};
}

// Independent reference: line:col of the nth occurrence of `needle`.
SourcePos find_pos(std::string_view text, std::string_view needle, int nth = 0)
{
    std::size_t at = text.find(needle);
    for (int i = 0; i < nth; ++i)
        at = text.find(needle, at + 1);
    EXPECT_NE(at, std::string_view::npos) << needle;
    const std::size_t nl = text.rfind('\n', at == 0 ? 0 : at - 1);
    const int line =
        1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    const auto col = static_cast<int>(nl == std::string_view::npos || at == 0 ? at + 1 : at - nl);
    return {line, col};
}

TEST(DiagnosticTest, Format)
{
    EXPECT_EQ((Diagnostic{"a.json", 3, 7, "bad"}).str(), "a.json:3:7: error: bad");
    EXPECT_EQ((Diagnostic{"a.json", 0, 0, "bad"}).str(), "a.json: error: bad");
}

TEST(ParseConfigTest, ValidConfigWithCommentsRoundTrips)
{
    const std::string text = R"(// kextconfd configuration
{
    "$schema": "https://example.com/kextconf.schema.json", // editors only
    "kext": "com.example.kext", /* the bundle id */
    "x-owner": {"team": "kernel", "team2": [1, 2]},
    "tunables": {
        "verbose": true,
        "max_clients": 64,      // per the load test
        "buffer_bytes": 65536,
        "mode": "safe",
        "banner": "a /*b*/ //c",
        "ports": [80, 443],
        "allow": ["a", "b"],
        "offset": -7,
        "boot_only": 3,
        "huge": 18446744073709551615
    }
})";
    std::vector<Diagnostic> errors;
    auto doc = parse(text, errors);
    ASSERT_TRUE(doc) << errors[0].str();
    EXPECT_EQ(doc->kext, "com.example.kext");
    EXPECT_EQ(doc->file, kFile);
    EXPECT_EQ(doc->tunables.size(), 10u);
    auto cfg = validate_config(*doc, test_schema(), errors);
    ASSERT_TRUE(cfg) << errors[0].str();
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(cfg->kext, "com.example.kext");
    const std::vector<std::pair<std::uint32_t, Value>> expected = {
        {0, Value::of_bool(true)},
        {1, Value::of_int(64)},
        {2, Value::of_uint(65536)},
        {3, Value::of_enum(1)},
        {4, Value::of_string("a /*b*/ //c")},
        {5, Value::of_ints({80, 443})},
        {6, Value::of_strings({"a", "b"})},
        {7, Value::of_int(-7)},
        {8, Value::of_int(3)},
        {9, Value::of_uint(UINT64_MAX)},
    };
    EXPECT_EQ(cfg->values, expected);
}

TEST(ParseConfigTest, SyntaxErrorLineAndColumn)
{
    EXPECT_EQ(parse_error("{\n  \"a\": 1,\n  \"b\": ]\n}"),
              "kextconf.json:3:8: error: expected the value of \"b\", found ']'");
}

// The mistake is named where it is (the comma), not where the parser noticed
// it (the brace on the next line).
TEST(ParseConfigTest, TrailingComma)
{
    EXPECT_EQ(parse_error("{\n  \"a\": 1,\n}"), "kextconf.json:2:9: error: trailing comma after the last member");
}

TEST(ParseConfigTest, UnterminatedString)
{
    EXPECT_EQ(parse_error("{\n  \"kext\": \"abc\n}"),
              "kextconf.json:2:15: error: unterminated string (started at 2:11); a string cannot span lines (write "
              "\\n for a line break)");
    EXPECT_EQ(parse_error("{\"kext\": \"abc"),
              "kextconf.json:1:14: error: unterminated string (started at 1:10); the file ends before its closing \"");
}

TEST(ParseConfigTest, EmptyAndUtf16FilesAreNamed)
{
    EXPECT_EQ(parse_error(""), "kextconf.json: error: the file is empty");
    EXPECT_EQ(parse_error(std::string("\xFF\xFE{\0}\0", 6)),
              "kextconf.json: error: the file is UTF-16; save it as UTF-8");
}

// nlohmann's lexer ends the input at a NUL: without care, a file would apply
// less than it holds.
TEST(ParseConfigTest, NulByteIsAnErrorAtItsPosition)
{
    const std::string valid = R"({"kext": "k", "tunables": {"a": 1}})";
    for (const auto& [text, where] : std::vector<std::pair<std::string, std::string>>{
             {valid + std::string("\0garbage {{{", 13), "1:36"},
             {valid + "\n" + std::string("\0", 1), "2:1"},
             {std::string("123\0", 4), "1:4"},
         }) {
        std::vector<Diagnostic> errors;
        EXPECT_FALSE(parse(text, errors));
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_EQ(errors[0].str().rfind("kextconf.json:" + where +
                                            ": error: NUL byte (0x00) after the end of the "
                                            "document",
                                        0),
                  0u)
            << errors[0].str();
    }
    EXPECT_EQ(parse_error(std::string(R"({"kext": "k", "tunables": {"a": 1, "b": 2}})").replace(32, 1, 1, '\0')),
              "kextconf.json:1:33: error: NUL byte (0x00): a configuration file is text and may not contain one");
}

TEST(ParseConfigTest, OtherSyntaxErrors)
{
    for (const char* text : {"   ", "{\"kext\": tru}", "{} {}", "{\"a\": 1e999}", "{\"a\": \"\xff\"}", "/* open",
                             "[1, 2", "{\"a\" 1}", "{\"a\": 01}", "{\"a\": -}"}) {
        std::vector<Diagnostic> errors;
        EXPECT_FALSE(parse(text, errors)) << text;
        ASSERT_EQ(errors.size(), 1u) << text;
        EXPECT_EQ(errors[0].message.find("json.exception"), std::string::npos) << errors[0].message;
        EXPECT_EQ(errors[0].message.find("syntax error"), std::string::npos) << errors[0].message;
        EXPECT_EQ(errors[0].message.find('\xff'), std::string::npos) << "raw byte echoed: " << errors[0].message;
    }
    EXPECT_EQ(parse_error("{\"a\":\n  1e999}"),
              "kextconf.json:2:3: error: the number 1e999 is too large (beyond a double's range)");
}

// A key or string quoted back in a message cannot drive the terminal.
TEST(ParseConfigTest, QuotedKeysAreEscapedForATerminal)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse("{\"kext\": \"k\", \"tunables\": {}, \"\\u001b[2J\xc2\x9b\x7f\": 1}", errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message.rfind("unknown top-level key \"\\u001b[2J\\xc2\\x9b\\x7f\" (", 0), 0u)
        << errors[0].message;
}

TEST(ParseConfigTest, DuplicateKeys)
{
    const std::string text = "{\n"
                             "  \"kext\": \"a\",\n"
                             "  \"tunables\": {\"verbose\": true,\n"
                             "                \"verbose\": false},\n"
                             "  \"x-list\": [{\"k\": 1}, {\"k\": 2, \"k\": 3, \"k\": 4}],\n"
                             "  \"kext\": \"b\"\n"
                             "}";
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse(text, errors));
    ASSERT_EQ(errors.size(), 4u);
    EXPECT_EQ(errors[0].str(), "kextconf.json:4:17: error: duplicate key \"verbose\" (first at line 3)");
    const SourcePos k3 = find_pos(text, "\"k\": 3");
    EXPECT_EQ(std::pair(errors[1].line, errors[1].col), std::pair(k3.line, k3.col));
    EXPECT_EQ(errors[1].message, "duplicate key \"k\" (first at line 5)");
    EXPECT_EQ(errors[2].col, find_pos(text, "\"k\": 4").col);
    EXPECT_EQ(errors[3].str(), "kextconf.json:6:3: error: duplicate key \"kext\" (first at line 2)");
}

TEST(ParseConfigTest, DuplicateKeyThroughEscape)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse(R"({"kext": "a", "tunables": {}, "x-a": {"ab": 1, "a\u0062": 2}})", errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "duplicate key \"ab\" (first at line 1)");
    EXPECT_EQ(errors[0].col, 48);
}

TEST(ParseConfigTest, UnknownTopLevelKeySuggests)
{
    // The misspelled key explains the missing one: said once, in file order.
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse("{\"kext\": \"a\",\n \"tunabels\": {}, \"x-note\": 1, \"$schema\": \"s\", \"zzz\": 0}", errors));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].str(), "kextconf.json:2:2: error: unknown top-level key \"tunabels\"; did you mean "
                               "\"tunables\"?");
    EXPECT_EQ(errors[1].message, "unknown top-level key \"zzz\" (keys starting with \"x-\" are ignored)");
}

TEST(ParseConfigTest, MissingKeyNotExplainedIsReported)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse("{\"kext\": \"a\", \"zzz\": {}}", errors));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].str(), "kextconf.json:1:1: error: missing required key \"tunables\""); // at the root '{'
    EXPECT_EQ(errors[1].message, "unknown top-level key \"zzz\" (keys starting with \"x-\" are ignored)");
}

TEST(ParseConfigTest, WrongTopLevelTypes)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse("{\"kext\": 5, \"tunables\": [1]}", errors));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].str(),
              "kextconf.json:1:10: error: \"kext\" must be the kext's bundle id (a non-empty string), got 5");
    EXPECT_EQ(errors[1].str(),
              "kextconf.json:1:25: error: \"tunables\" must be an object (tunable name -> value), got an array");

    EXPECT_EQ(parse_error("{\"kext\": \"\", \"tunables\": {}}"),
              "kextconf.json:1:10: error: \"kext\" must be the kext's bundle id (a non-empty string), got \"\"");
    EXPECT_NE(parse_error("{\"kext\": \"" + std::string(KC_BUNDLE_ID_MAX, 'a') + "\", \"tunables\": {}}")
                  .find("longer than a bundle id"),
              std::string::npos);
    EXPECT_EQ(parse_error("\n  [1, 2]"),
              "kextconf.json:2:3: error: the configuration must be a JSON object, got an array");

    errors.clear();
    EXPECT_FALSE(parse("{}", errors));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].message, "missing required key \"kext\"");
}

TEST(ParseConfigTest, PositionsAfterCommentsEscapesAndUtf8)
{
    const std::string text = "{\n"
                             "  // a \"comment\" with { braces } and [ brackets\n"
                             "  /* block \"quoted\n"
                             "     comment */ \"kext\": \"com.example.k\",\n"
                             "  \"tunables\": {\"s\": \"a \\\"quoted\\\" {brace} [x] \\\\\", \"n\": 42,\n"
                             "    \"\xc3\xa9t\xc3\xa9\": \"\xe6\x97\xa5\xe6\x9c\xac\", \"after\": -1.5e+3,\n"
                             "    \"a/b~c\": [true, false, null, 7, \"x\", {\"q\": [1]}],\n"
                             "    \"esc\\\"key\": /* c */ 0, \"last\":18446744073709551615 }\n"
                             "}";
    std::vector<Diagnostic> errors;
    auto doc = parse(text, errors);
    ASSERT_TRUE(doc) << errors[0].str();
    const SourceMap& m = doc->positions;

    EXPECT_EQ(doc->value_pos(""), (SourcePos{1, 1}));
    EXPECT_EQ(doc->key_pos("/kext"), (SourcePos{4, 17}));
    EXPECT_EQ(doc->value_pos("/kext"), (SourcePos{4, 25}));
    EXPECT_EQ(doc->key_pos("/tunables"), (SourcePos{5, 3}));
    EXPECT_EQ(doc->value_pos("/tunables"), (SourcePos{5, 15}));
    EXPECT_EQ(doc->value_pos("/tunables/s"), (SourcePos{5, 21}));
    EXPECT_EQ(doc->value_pos("/tunables/n"), find_pos(text, "42"));
    EXPECT_EQ(doc->key_pos("/tunables/n"), find_pos(text, "\"n\""));
    // Columns count bytes: "été" is 5 bytes, "日本" 6.
    EXPECT_EQ(doc->key_pos("/tunables/\xc3\xa9t\xc3\xa9"), (SourcePos{6, 5}));
    EXPECT_EQ(doc->value_pos("/tunables/\xc3\xa9t\xc3\xa9"), (SourcePos{6, 14}));
    EXPECT_EQ(doc->key_pos("/tunables/after"), (SourcePos{6, 24}));
    EXPECT_EQ(doc->value_pos("/tunables/after"), (SourcePos{6, 33}));
    EXPECT_EQ(doc->value_pos("/tunables/a~1b~0c"), find_pos(text, "[true"));
    EXPECT_EQ(doc->value_pos("/tunables/a~1b~0c/0"), find_pos(text, "true"));
    EXPECT_EQ(doc->value_pos("/tunables/a~1b~0c/1"), find_pos(text, "false"));
    EXPECT_EQ(doc->value_pos("/tunables/a~1b~0c/2"), find_pos(text, "null"));
    EXPECT_EQ(doc->value_pos("/tunables/a~1b~0c/3"), find_pos(text, "7,"));
    EXPECT_EQ(doc->value_pos("/tunables/a~1b~0c/4"), find_pos(text, "\"x\""));
    EXPECT_EQ(doc->value_pos("/tunables/a~1b~0c/5"), find_pos(text, "{\"q\""));
    EXPECT_EQ(doc->key_pos("/tunables/a~1b~0c/5/q"), find_pos(text, "\"q\""));
    EXPECT_EQ(doc->value_pos("/tunables/a~1b~0c/5/q/0"), find_pos(text, "1]"));
    EXPECT_EQ(doc->key_pos("/tunables/esc\"key"), find_pos(text, "\"esc"));
    EXPECT_EQ(doc->value_pos("/tunables/esc\"key"), find_pos(text, "0, \"last"));
    EXPECT_EQ(doc->value_pos("/tunables/last"), find_pos(text, "18446744073709551615"));

    // Lookups that name nothing.
    EXPECT_FALSE(m.value_pos("/tunables/missing"));
    EXPECT_FALSE(m.value_pos("/tunables/a~1b~0c/6"));
    EXPECT_FALSE(m.value_pos("/tunables/a~1b~0c/01"));
    EXPECT_FALSE(m.value_pos("/tunables/a~1b~0c/-1"));
    EXPECT_FALSE(m.value_pos("/tunables/n/0"));
    EXPECT_FALSE(m.value_pos("/tunables/a~2b"));
    EXPECT_FALSE(m.value_pos("tunables"));
    EXPECT_FALSE(m.key_pos(""));
    EXPECT_FALSE(m.key_pos("/tunables/a~1b~0c/0"));
    EXPECT_EQ(doc->value_pos("/nope"), SourcePos{});
}

TEST(ParseConfigTest, PositionOfTopLevelScalarsAndNumbersBeforeComments)
{
    for (const std::string text : {"  -12.5e3", "\n\n  7//c", " true/**/", "\"\\\\\""}) {
        std::vector<Diagnostic> errors;
        ConfigDocument doc;
        EXPECT_FALSE(parse(text, errors)); // not an object
        ASSERT_EQ(errors.size(), 1u);
        const std::size_t start = text.find_first_not_of(" \n");
        EXPECT_EQ(std::pair(errors[0].line, errors[0].col),
                  std::pair(find_pos(text, text.substr(start, 1)).line, find_pos(text, text.substr(start, 1)).col))
            << text;
    }
}

TEST(ParseConfigTest, DeepNestingRejectedWithoutCrash)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse(std::string(100000, '['), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].str(), "kextconf.json:1:65: error: nesting deeper than 64 levels");

    // The root object is level 1: 63 more levels are fine, 64 are not.
    auto nested = [](int levels) {
        return "{\"kext\": \"a\", \"tunables\": {}, \"x-deep\": " + std::string(levels, '[') +
               std::string(levels, ']') + "}";
    };
    errors.clear();
    EXPECT_TRUE(parse(nested(kMaxNestingDepth - 1), errors));
    EXPECT_TRUE(errors.empty());
    EXPECT_FALSE(parse(nested(kMaxNestingDepth), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("nesting deeper"), std::string::npos);
}

TEST(ParseConfigTest, OversizedInputRejected)
{
    std::vector<Diagnostic> errors;
    const std::string text(kMaxConfigBytes + 1, ' ');
    EXPECT_FALSE(parse(text, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].str(),
              "kextconf.json: error: configuration is 16777217 bytes, over the limit of 16777216 bytes");
}

TEST(ParseConfigTest, ErrorFloodIsCapped)
{
    std::string text = "{\"kext\": \"a\", \"tunables\": {}";
    for (int i = 0; i < 1000; ++i)
        text += ", \"bad" + std::to_string(i) + "\": 0";
    text += "}";
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(parse(text, errors));
    ASSERT_EQ(errors.size(), kMaxDiagnostics + 1);
    EXPECT_EQ(errors.back().message, std::to_string(1000 - kMaxDiagnostics) + " more errors not shown");
}

TEST(ValidateConfigTest, Bool)
{
    EXPECT_EQ(only_value(R"({"verbose": false})"), Value::of_bool(false));
    EXPECT_EQ(only_error(R"({"verbose": "yes"})"), R"(tunable "verbose": expected true or false, got "yes")");
    EXPECT_EQ(only_error(R"({"verbose": 1})"), R"(tunable "verbose": expected true or false, got 1)");
}

TEST(ValidateConfigTest, Int64)
{
    EXPECT_EQ(only_value(R"({"max_clients": 1024})"), Value::of_int(1024));
    EXPECT_EQ(only_value(R"({"offset": -100})"), Value::of_int(-100));
    EXPECT_EQ(only_error(R"({"max_clients": 5000})"), R"(tunable "max_clients": 5000 is out of range [1, 1024])");
    EXPECT_EQ(only_error(R"({"max_clients": 0})"), R"(tunable "max_clients": 0 is out of range [1, 1024])");
    EXPECT_EQ(only_error(R"({"offset": -101})"), R"(tunable "offset": -101 is out of range [-100, 100])");
    EXPECT_EQ(only_error(R"({"max_clients": 18446744073709551615})"),
              R"(tunable "max_clients": 18446744073709551615 is out of range [1, 1024])");
    EXPECT_EQ(only_error(R"({"max_clients": 1.5})"),
              R"(tunable "max_clients": expected an integer in [1, 1024], got 1.5)");
    EXPECT_EQ(only_error(R"({"max_clients": 2.0})"),
              R"(tunable "max_clients": expected an integer in [1, 1024], got 2.0)");
    EXPECT_EQ(only_error(R"({"max_clients": "5"})"),
              R"(tunable "max_clients": expected an integer in [1, 1024], got "5")");
    EXPECT_EQ(only_value(R"({"boot_only": 10})"), Value::of_int(10)); // KC_TF_LOAD_ONLY is accepted
}

TEST(ValidateConfigTest, Uint64)
{
    EXPECT_EQ(only_value(R"({"buffer_bytes": 4096})"), Value::of_uint(4096));
    EXPECT_EQ(only_value(R"({"huge": 18446744073709551615})"), Value::of_uint(UINT64_MAX));
    EXPECT_EQ(only_error(R"({"buffer_bytes": -1})"),
              R"(tunable "buffer_bytes": -1 is out of range [4096, 1048576] (must not be negative))");
    EXPECT_EQ(only_error(R"({"buffer_bytes": 100})"), R"(tunable "buffer_bytes": 100 is out of range [4096, 1048576])");
    EXPECT_EQ(only_error(R"({"buffer_bytes": 8e3})"),
              R"(tunable "buffer_bytes": expected an unsigned integer in [4096, 1048576], got 8000.0)");
    EXPECT_EQ(
        only_error(R"({"huge": 18446744073709551616})"),
        R"(tunable "huge": expected an unsigned integer in [0, 18446744073709551615], got 1.8446744073709552e+19)");
}

TEST(ValidateConfigTest, Enum)
{
    EXPECT_EQ(only_value(R"({"mode": "off"})"), Value::of_enum(2));
    EXPECT_EQ(only_error(R"({"mode": "fsat"})"),
              R"(tunable "mode": "fsat" is not one of "fast", "safe", "off"; did you mean "fast"?)");
    EXPECT_EQ(only_error(R"({"mode": "turbo"})"), R"(tunable "mode": "turbo" is not one of "fast", "safe", "off")");
    EXPECT_EQ(only_error(R"({"mode": 1})"), R"(tunable "mode": expected one of "fast", "safe", "off", got 1)");
}

TEST(ValidateConfigTest, String)
{
    EXPECT_EQ(only_value(R"({"banner": "0123456789abcdef"})"), Value::of_string("0123456789abcdef"));
    EXPECT_EQ(only_value(R"({"banner": ""})"), Value::of_string(""));
    EXPECT_EQ(only_error(R"({"banner": "0123456789abcdefg"})"),
              R"(tunable "banner": string is 17 bytes, longer than the maximum of 16)");
    EXPECT_EQ(only_error(R"({"banner": "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"})"),
              R"(tunable "banner": string is 18 bytes, longer than the maximum of 16)");
    EXPECT_EQ(only_error(R"({"banner": "a\u0000b"})"), R"(tunable "banner": string contains a NUL character (\u0000))");
    EXPECT_EQ(only_error(R"({"banner": ["a"]})"), R"(tunable "banner": expected a string, got an array)");
}

TEST(ValidateConfigTest, Int64List)
{
    EXPECT_EQ(only_value(R"({"ports": [1, 2, 3, 65535]})"), Value::of_ints({1, 2, 3, 65535}));
    EXPECT_EQ(only_value(R"({"ports": []})"), Value::of_ints({}));
    EXPECT_EQ(only_error(R"({"ports": [1, 2, 3, 4, 5]})"),
              R"(tunable "ports": list has 5 entries, more than the maximum of 4)");
    EXPECT_EQ(only_error(R"({"ports": {"a": 1}})"), R"(tunable "ports": expected an array of integers, got an object)");

    std::vector<Diagnostic> errors;
    EXPECT_FALSE(validate("{\"ports\": [80,\n    70000, \"443\", 0.5]}", errors));
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_EQ(errors[0].str(), "kextconf.json:4:5: error: tunable \"ports\"[1]: 70000 is out of range [1, 65535]");
    EXPECT_EQ(errors[1].str(),
              "kextconf.json:4:12: error: tunable \"ports\"[2]: expected an integer in [1, 65535], got \"443\"");
    EXPECT_EQ(errors[2].col, 19);
}

TEST(ValidateConfigTest, StringList)
{
    EXPECT_EQ(only_value(R"({"allow": ["x", "", "z"]})"), Value::of_strings({"x", "", "z"}));
    EXPECT_EQ(only_error(R"({"allow": ["a", "b", "c", "d"]})"),
              R"(tunable "allow": list has 4 entries, more than the maximum of 3)");
    EXPECT_EQ(only_error(R"({"allow": ["a", 1]})"), R"(tunable "allow"[1]: expected a string, got 1)");
    EXPECT_EQ(only_error(R"({"allow": ["a\u0000"]})"),
              R"(tunable "allow"[0]: string contains a NUL character (\u0000))");
    EXPECT_EQ(only_error(R"({"allow": "a"})"), R"(tunable "allow": expected an array of strings, got "a")");
    // An element must fit one kext option with its NUL.
    EXPECT_NE(only_error("{\"allow\": [\"" + std::string(KC_OPT_MAX_LEN, 'a') + "\"]}").find("longer than the maximum"),
              std::string::npos);
    // ... and the kext's own bound on each element (max.u).
    EXPECT_EQ(only_value("{\"allow\": [\"" + std::string(32, 'a') + "\"]}"), Value::of_strings({std::string(32, 'a')}));
    EXPECT_EQ(only_error("{\"allow\": [\"x\", \"" + std::string(33, 'a') + "\"]}"),
              R"(tunable "allow"[1]: string is 33 bytes, longer than the maximum of 32)");
}

TEST(ValidateConfigTest, UnknownTunableSuggests)
{
    EXPECT_EQ(only_error(R"({"max_clinets": 5})"), R"(unknown tunable "max_clinets"; did you mean "max_clients"?)");
    EXPECT_EQ(only_error(R"({"buffer": 5})"), R"(unknown tunable "buffer"; did you mean "buffer_bytes"?)");
    EXPECT_EQ(only_error(R"({"zzz": 5})"), R"(unknown tunable "zzz")");
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(validate("{\n  \"verbose\": true, \"verbos\": true}", errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].str(), "kextconf.json:4:20: error: unknown tunable \"verbos\"; did you mean \"verbose\"?");
}

TEST(ValidateConfigTest, AllErrorsCollectedInSourceOrder)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(validate("{\n"
                          "  \"verbose\": 1,\n"
                          "  \"mode\": \"bad\",\n"
                          "  \"max_clients\": 99999,\n"
                          "  \"nope\": 1,\n"
                          "  \"ports\": [0, 80, 0]\n"
                          "}",
                          errors));
    ASSERT_EQ(errors.size(), 6u);
    const std::vector<int> lines = {4, 5, 6, 7, 8, 8}; // the tunables object starts on line 3
    for (std::size_t i = 0; i < errors.size(); ++i)
        EXPECT_EQ(errors[i].line, lines[i]) << errors[i].str();
    EXPECT_LT(errors[4].col, errors[5].col);
}

TEST(ValidateConfigTest, UnsupportedTypeFromKext)
{
    std::vector<Diagnostic> errors;
    auto doc = parse(R"({"kext": "a", "tunables": {"odd": 1}})", errors);
    ASSERT_TRUE(doc);
    EXPECT_FALSE(validate_config(*doc, {make_desc(0, "odd", 99)}, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, R"(tunable "odd": the kext reports an unsupported type 99)");
}

TEST(ValidateConfigTest, HundredThousandIntegerListIsFast)
{
    std::string list = "[";
    for (int i = 0; i < 100000; ++i)
        list += (i ? "," : "") + std::to_string(i % 1000);
    list += "]";
    const std::string text = "{\"kext\": \"a\", \"tunables\": {\"big\": " + list + "}}";
    TunableDesc big = make_desc(0, "big", KC_TYPE_INT64_LIST);
    big.max.i = 999;
    big.max_count = 100000;

    // CPU time of this thread: wall time on a loaded CI machine measures the
    // neighbours too (it failed at 2.004 s under ASan with 10 builds running).
    auto cpu_now = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    };
    const auto start = cpu_now();
    std::vector<Diagnostic> errors;
    auto doc = parse(text, errors);
    ASSERT_TRUE(doc);
    auto cfg = validate_config(*doc, {big}, errors);
    const auto elapsed = cpu_now() - start;
    ASSERT_TRUE(cfg);
    ASSERT_EQ(cfg->values.size(), 1u);
    EXPECT_EQ(cfg->values[0].second.ints.size(), 100000u);
    EXPECT_EQ(cfg->values[0].second.ints[99999], 999);
    EXPECT_EQ(doc->value_pos("/tunables/big/99999"), find_pos(text, "999]"));
    // A figure, not a bound (how the time grows with the input is a benchmark's question).
    std::printf("[ figures ] 100,000-entry list parsed and validated in %.1f ms CPU\n",
                std::chrono::duration<double, std::milli>(elapsed).count());

    big.max_count = 99999;
    EXPECT_FALSE(validate_config(*doc, {big}, errors));
    EXPECT_EQ(errors.back().message, "tunable \"big\": list has 100000 entries, more than the maximum of 99999");
}

TEST(SuggestTest, PicksClosest)
{
    const std::vector<std::string> names = {"max_clients", "max_client_age", "mode", "timeout_ms"};
    EXPECT_EQ(suggest("max_client", names), "max_clients");
    EXPECT_EQ(suggest("mdoe", names), "mode"); // transposition counts 1
    EXPECT_EQ(suggest("timeout", names), "timeout_ms");
    EXPECT_EQ(suggest("xyz", names), "");
    EXPECT_EQ(suggest("", names), "");
    EXPECT_EQ(suggest("mo", {"m"}), "m");
    EXPECT_EQ(suggest("ab", {"xy"}), ""); // a distance as long as the word suggests nothing
    EXPECT_EQ(suggest("a", {"b"}), "");
    EXPECT_EQ(suggest(std::string(100000, 'a'), names), "");
}

class ReadConfigFileTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string templ = (std::filesystem::temp_directory_path() / "kextconf-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string path(const char* name) const { return (dir_ / name).string(); }
    std::filesystem::path dir_;
};

TEST_F(ReadConfigFileTest, ReadsRegularFile)
{
    std::ofstream(path("c.json")) << "{\"kext\": \"a\"}";
    std::vector<Diagnostic> errors;
    EXPECT_EQ(read_config_file(path("c.json"), errors), "{\"kext\": \"a\"}");
    EXPECT_TRUE(errors.empty());
}

TEST_F(ReadConfigFileTest, MissingFile)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(read_config_file(path("none.json"), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].str(), path("none.json") + ": error: cannot open: No such file or directory");
}

TEST_F(ReadConfigFileTest, DirectoryRefused)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(read_config_file(dir_.string(), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "not a regular file (a directory)");
}

TEST_F(ReadConfigFileTest, SymlinkRefused)
{
    std::ofstream(path("real.json")) << "{}";
    std::filesystem::create_symlink(path("real.json"), path("link.json"));
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(read_config_file(path("link.json"), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "is a symbolic link; refusing to follow it (name the file itself)");
}

TEST_F(ReadConfigFileTest, FifoRefusedWithoutBlocking)
{
    ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(read_config_file(path("fifo"), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "not a regular file (a FIFO)");
}

TEST_F(ReadConfigFileTest, OversizedFileRefused)
{
    const int fd = ::open(path("big.json").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 17 * 1024 * 1024), 0); // sparse: no disk used
    ::close(fd);
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(read_config_file(path("big.json"), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].str(), path("big.json") + ": error: is 17825792 bytes, over the limit of 16777216 bytes");
}

// load_config_file: read, hash and parse in one call; the same bytes again,
// with their hash known, are not parsed again.
TEST_F(ReadConfigFileTest, LoadReadsHashesAndParsesInOneCall)
{
    const std::string text = R"({"kext": "org.example.k", "tunables": {"max_clients": 8}})";
    std::ofstream(path("c.json")) << text;
    std::vector<Diagnostic> errors;
    const auto file = load_config_file(path("c.json"), errors);
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->doc) << (errors.empty() ? "" : errors[0].str());
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(file->text, text);
    EXPECT_EQ(file->hash, std::hash<std::string>{}(text));
    EXPECT_FALSE(file->unchanged);
    EXPECT_EQ(file->doc->file, path("c.json"));
    EXPECT_EQ(file->doc->kext, "org.example.k");
    EXPECT_EQ(file->doc->tunables.at("max_clients"), 8);

    const auto again = load_config_file(path("c.json"), errors, file->hash);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->unchanged);
    EXPECT_FALSE(again->doc);
    EXPECT_EQ(again->text, text);
    EXPECT_TRUE(errors.empty());

    std::ofstream(path("c.json")) << R"({"kext": "org.example.k", "tunables": {"max_clients": 9}})";
    const auto edited = load_config_file(path("c.json"), errors, file->hash);
    ASSERT_TRUE(edited);
    EXPECT_FALSE(edited->unchanged);
    ASSERT_TRUE(edited->doc);
    EXPECT_EQ(edited->doc->tunables.at("max_clients"), 9);
}

TEST_F(ReadConfigFileTest, LoadSaysWhyAFileCannotBeUsed)
{
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(load_config_file(path("none.json"), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].str(), path("none.json") + ": error: cannot open: No such file or directory");

    std::ofstream(path("c.json")) << "{\"kext\": \"k\",\n \"tunables\": [1]}";
    errors.clear();
    const auto file = load_config_file(path("c.json"), errors);
    ASSERT_TRUE(file); // read, but no document
    EXPECT_FALSE(file->doc);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].str(), path("c.json") + ":2:14: error: \"tunables\" must be an object (tunable name -> "
                                                "value), got an array");
}

} // namespace
// DESIGN rule 6: the file and every directory above it must belong to root
// (or the daemon's own user) and must not be writable by group or others; a
// sticky root-owned directory (/tmp) is the one exception.
TEST_F(ReadConfigFileTest, GroupOrWorldWritableFileRefused)
{
    std::ofstream(path("c.json")) << "{}";
    for (const mode_t m : {mode_t{0664}, mode_t{0646}}) {
        ::chmod(path("c.json").c_str(), m);
        std::vector<Diagnostic> errors;
        EXPECT_FALSE(read_config_file(path("c.json"), errors));
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_NE(errors[0].message.find("writable by group or others"), std::string::npos) << errors[0].str();
        EXPECT_NE(errors[0].message.find("chmod go-w"), std::string::npos) << errors[0].str();
    }
    ::chmod(path("c.json").c_str(), 0644);
    std::vector<Diagnostic> errors;
    EXPECT_TRUE(read_config_file(path("c.json"), errors));
}

TEST_F(ReadConfigFileTest, ForeignOwnerRefused)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to give the file away";
    std::ofstream(path("c.json")) << "{}";
    ASSERT_EQ(::chown(path("c.json").c_str(), 65534, 65534), 0);
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(read_config_file(path("c.json"), errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("owned by uid 65534"), std::string::npos) << errors[0].str();
}

TEST_F(ReadConfigFileTest, WritableParentDirectoryRefusedUnlessStickyRoot)
{
    std::filesystem::create_directory(dir_ / "sub");
    const std::string file = (dir_ / "sub" / "c.json").string();
    std::ofstream(file) << "{}";
    ::chmod((dir_ / "sub").c_str(), 0777);
    std::vector<Diagnostic> errors;
    EXPECT_FALSE(read_config_file(file, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("directory " + (dir_ / "sub").string()), std::string::npos) << errors[0].str();
    EXPECT_NE(errors[0].message.find("mode 0777"), std::string::npos) << errors[0].str();

    if (::geteuid() == 0) { // sticky and root's, like /tmp: accepted
        ::chmod((dir_ / "sub").c_str(), 01777);
        errors.clear();
        EXPECT_TRUE(read_config_file(file, errors)) << (errors.empty() ? "" : errors[0].str());
    }
    ::chmod((dir_ / "sub").c_str(), 0755);
}

} // namespace kextconf
