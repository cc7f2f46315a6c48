// kextconfctl's pure parts: NAME=VALUE text read by the tunable's type, and
// the in-place config file edit of `set --persist` (comments kept, result
// re-parsed to the intended document) with its atomic replace.
#include <kextconf/config_edit.hpp>

#include <kextconf/file.hpp>
#include <kextconf/value_text.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace kextconf;
using nlohmann::json;

proto::TunableDesc desc(std::uint32_t type)
{
    proto::TunableDesc d;
    d.type = type;
    d.name = "t";
    return d;
}

TEST(ValueText, ReadsEachType)
{
    EXPECT_EQ(text_to_json(desc(KC_TYPE_BOOL), "true"), true);
    EXPECT_EQ(text_to_json(desc(KC_TYPE_BOOL), " false"), false);
    // The file's grammar: what it refuses reaches the validator as it was typed.
    for (const char* word : {"yes", "on", "FALSE", "maybe"})
        EXPECT_EQ(text_to_json(desc(KC_TYPE_BOOL), word), word);
    EXPECT_EQ(text_to_json(desc(KC_TYPE_BOOL), "1"), 1);
    EXPECT_EQ(text_to_json(desc(KC_TYPE_INT64), "007"), "007");
    EXPECT_EQ(text_to_json(desc(KC_TYPE_STRING), "\"quoted\""), "quoted");
    EXPECT_EQ(text_to_json(desc(KC_TYPE_INT64), "-42"), -42);
    EXPECT_EQ(text_to_json(desc(KC_TYPE_UINT64), "18446744073709551615"), 18446744073709551615ull);
    EXPECT_EQ(text_to_json(desc(KC_TYPE_INT64), "12abc"), "12abc");
    EXPECT_EQ(text_to_json(desc(KC_TYPE_STRING), " two words "), " two words ");
    EXPECT_EQ(text_to_json(desc(KC_TYPE_ENUM), "debug"), "debug");
    EXPECT_EQ(text_to_json(desc(KC_TYPE_INT64_LIST), "1, 2,3"), json({1, 2, 3}));
    EXPECT_EQ(text_to_json(desc(KC_TYPE_INT64_LIST), ""), json::array());
    EXPECT_EQ(text_to_json(desc(KC_TYPE_INT64_LIST), "[4,5]"), json({4, 5}));
    EXPECT_EQ(text_to_json(desc(KC_TYPE_STRING_LIST), "a, b"), json({"a", "b"}));
    EXPECT_EQ(split_assignment("a=b=c"), std::make_pair(std::string("a"), std::string("b=c")));
    EXPECT_FALSE(split_assignment("=x"));
    EXPECT_FALSE(split_assignment("name"));
}

ConfigDocument parse(const std::string& text)
{
    std::vector<Diagnostic> errors;
    auto doc = parse_config(text, "c.json", errors);
    EXPECT_TRUE(doc && errors.empty()) << (errors.empty() ? "" : errors[0].str());
    return doc ? *doc : ConfigDocument{};
}

TEST(ConfigEdit, ReplacesValuesInPlaceKeepingComments)
{
    const std::string text = "// head\n{\n  \"kext\": \"k\",\n  \"tunables\": {\n"
                             "    \"list\": [1, /* one */ 2, [3]], // tail\n"
                             "    \"s\": \"a \\\" } b\",\n    \"n\": -3\n  }\n}\n";
    const auto doc = parse(text);
    const auto out = edit_tunables(text, doc, {{"list", {9}}, {"s", "x"}, {"n", 4}});
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, "// head\n{\n  \"kext\": \"k\",\n  \"tunables\": {\n    \"list\": [9], // tail\n"
                    "    \"s\": \"x\",\n    \"n\": 4\n  }\n}\n");
}

TEST(ConfigEdit, AddsNewMembersWithTheirNeighboursIndentation)
{
    const std::string text = "{\"kext\": \"k\",\n\t\"tunables\": {\n\t\t\"a\": 1\n\t}\n}\n";
    const auto out = edit_tunables(text, parse(text), {{"b", true}, {"c", "x"}});
    ASSERT_TRUE(out);
    EXPECT_EQ(*out,
              "{\"kext\": \"k\",\n\t\"tunables\": {\n\t\t\"b\": true,\n\t\t\"c\": \"x\",\n\t\t\"a\": 1\n\t}\n}\n");
    EXPECT_EQ(parse(*out).tunables, json({{"a", 1}, {"b", true}, {"c", "x"}}));

    const std::string empty = "{\n    \"kext\": \"k\",\n    \"tunables\": {}\n}\n";
    const auto out2 = edit_tunables(empty, parse(empty), {{"b", 2}});
    ASSERT_TRUE(out2);
    EXPECT_EQ(parse(*out2).tunables, json({{"b", 2}}));
    EXPECT_EQ(*out2, "{\n    \"kext\": \"k\",\n    \"tunables\": {\n        \"b\": 2\n    }\n}\n");
}

TEST(ConfigEdit, AtomicReplaceKeepsModeAndLeavesNoTemporary)
{
    char dir[] = "/tmp/kce.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string path = std::string(dir) + "/c.json";
    std::ofstream(path) << "old";
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
    const auto r = replace_file_atomically(path, "new\n", 0600, /*keep_old_mode_and_owner=*/true);
    ASSERT_FALSE(r) << r.failed_step;
    EXPECT_TRUE(r.directory_synced);
    std::ifstream in(path);
    std::stringstream got;
    got << in.rdbuf();
    EXPECT_EQ(got.str(), "new\n");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    // A directory that cannot be written: the old file stays, the error says what failed.
    const auto refused = replace_file_atomically("/proc/version", "x", 0600);
    EXPECT_TRUE(refused);
    EXPECT_NE(refused.failed_step.find("temporary file"), std::string::npos) << refused.failed_step;
    // A bounded read stops at the limit.
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::string text;
    EXPECT_EQ(read_bounded(fd.get(), 2, text), std::errc::file_too_large);
    ::unlink(path.c_str());
    EXPECT_EQ(::rmdir(dir), 0) << "a temporary file was left behind";
}

} // namespace
