// Tests for daemon/lib/json_syntax: each mistake a person makes in a JSON
// file is named, at the place where it is, without echoing raw bytes; and the
// reader agrees with nlohmann's parser on what parses.
#include <kextconf/json_syntax.hpp>
#include <kextconf/text_encoding.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

namespace kextconf {
namespace {

struct Mistake {
    std::string text;
    std::string expected; // "line:col: message" (line 0: "message" alone)
};

std::string explain(std::string_view text)
{
    const auto p = find_syntax_problem(text);
    if (!p)
        return "(no problem)";
    if (p->at.line == 0)
        return p->message;
    return std::to_string(p->at.line) + ":" + std::to_string(p->at.col) + ": " + p->message;
}

void PrintTo(const Mistake& m, std::ostream* os)
{
    *os << printable(m.text);
}

class SyntaxMistake : public ::testing::TestWithParam<Mistake> {};

TEST_P(SyntaxMistake, IsNamedWhereItIs)
{
    EXPECT_EQ(explain(GetParam().text), GetParam().expected) << GetParam().text;
}

using namespace std::string_literals;

INSTANTIATE_TEST_SUITE_P(
    People, SyntaxMistake,
    ::testing::Values(
        Mistake{"", "the file is empty"},
        Mistake{"  \n// nothing yet\n", "the file is empty (it holds only whitespace and comments)"},
        Mistake{"{\n  \"a\": 1,\n}", "2:9: trailing comma after the last member"},
        Mistake{"[1, 2,\n]", "1:6: trailing comma after the last element"},
        Mistake{"{\n  \"a\": 1\n  \"b\": 2\n}", "2:9: missing comma after this member (the next one starts at 3:3)"},
        Mistake{"[1 2]", "1:3: missing comma after this element (the next one starts at 1:4)"},
        Mistake{"{\n  \"kext\": \"abc\n}",
                "2:15: unterminated string (started at 2:11); a string cannot span lines (write \\n for a line "
                "break)"},
        Mistake{"{\"kext\": \"abc", "1:14: unterminated string (started at 1:10); the file ends before its closing \""},
        Mistake{"{kext: 1}", "1:2: key kext must be in double quotes (\"kext\")"},
        Mistake{"{'kext': 1}", "1:2: keys are written in double quotes, not single quotes"},
        Mistake{"{\"kext\": 'a'}", "1:10: strings are written in double quotes, not single quotes"},
        Mistake{"{\"a\" 1}", "1:6: missing ':' after the key \"a\""},
        Mistake{"{\"a\" = 1}", "1:6: write ':' between a key and its value, not '='"},
        Mistake{"{\"a\": }", "1:7: expected the value of \"a\", found '}'"},
        Mistake{"{\"a\": 1,, \"b\": 2}", "1:9: two commas in a row"},
        Mistake{"{\n  \"tunables\": {\n    \"a\": 1\n", "4:1: the object opened at 2:15 is not closed: the file ends "
                                                        "before its }"},
        Mistake{"{\"a\": [1, 2}", "1:12: '}' does not close the array opened at 1:7; expected ',' or ']'"},
        Mistake{"{\"a\": 1]", "1:8: ']' does not close the object opened at 1:1; expected ',' or '}'"},
        Mistake{"{} {}", "1:4: unexpected '{' after the end of the document (it ended at 1:3); only whitespace and "
                         "comments may follow it"},
        Mistake{"{\"a\": True}", "1:7: True is not JSON; its literals are lower case: true"},
        Mistake{"{\"a\": yes}", "1:7: bare word yes is not a JSON value; a string is written in double quotes "
                                "(\"yes\")"},
        Mistake{"{\"a\": NaN}", "1:7: NaN is not a JSON number"},
        Mistake{"{\"a\": 01}", "1:7: a number may not start with 0 (leading zeros are not JSON)"},
        Mistake{"{\"a\": 0x10}", "1:7: hexadecimal numbers are not JSON; write the number in decimal"},
        Mistake{"{\"a\": +1}", "1:7: a number starts with a digit or '-' (write 1)"},
        Mistake{"{\"a\": .5}", "1:7: a number starts with a digit or '-' (write 0.5)"},
        Mistake{"{\"a\": 1.}", "1:9: a digit must follow the decimal point"},
        Mistake{"{\"a\": 1e}", "1:9: the exponent needs digits"},
        Mistake{"{\"a\": -}", "1:7: '-' must be followed by a digit"},
        Mistake{"{\"a\": 12ab}", "1:7: invalid number 12ab"},
        Mistake{"{\"a\":\n  1e999}", "2:3: the number 1e999 is too large (beyond a double's range)"},
        Mistake{"{\"a\": \"C:\\dir\"}",
                "1:10: invalid escape \\d in a string; the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX "
                "(write \\\\ for a backslash)"},
        Mistake{"{\"a\": \"\\u12\"}", "1:8: \\u must be followed by 4 hexadecimal digits"},
        Mistake{"[\"\\uD800x\"]", "1:3: \\u escape of a high surrogate not followed by a low one (\\uDC00-\\uDFFF)"},
        Mistake{"{\"a\": \"x\ty\"}", "1:9: control character 0x09 in a string; write it escaped (\\t for a tab)"},
        Mistake{"{\"a\": \"caf\xE9\"}", "1:11: byte 0xE9 in a string is not UTF-8; save the file as UTF-8"},
        Mistake{"{\"a\": \xE2\x80\x9Cx\xE2\x80\x9D}",
                "1:7: expected the value of \"a\", found curly quote '\xE2\x80\x9C' (JSON uses straight double "
                "quotes \")"},
        Mistake{"{\"a\": 1} # done", "1:10: '#' does not start a comment in JSON; use // or /* */"},
        Mistake{"{\"a\": 1} / x", "1:10: a lone '/': comments start with // or /*"},
        Mistake{"{\"a\": 1}\n/* open\n", "3:1: unterminated /* comment (started at 2:1)"},
        Mistake{"{\"a\": 1}\n\x1B[2J", "2:1: unexpected control character 0x1B after the end of the document (it "
                                       "ended at 1:9); only whitespace and comments may follow it"},
        Mistake{"}", "1:1: expected a JSON value, found '}'"},
        Mistake{"\xFF\xFE{\0\"\0}\0"s, "the file is UTF-16; save it as UTF-8"},
        Mistake{"{\0\"\0a\0\"\0:\0 \0001\0}\0"s, "the file is UTF-16; save it as UTF-8"},
        Mistake{"\0{\0\"\0a\0\"\0:\0 \0001\0}"s, "the file is UTF-16; save it as UTF-8"},
        Mistake{"\xFF\xFE\0\0{\0\0\0"s, "the file is UTF-32; save it as UTF-8"},
        Mistake{"{\"kext\": \"x\"}\0garbage {{{"s, "1:14: NUL byte (0x00) after the end of the document (it ended at "
                                                   "1:14); only whitespace and comments may follow it"},
        Mistake{"123\0"s, "1:4: NUL byte (0x00) after the end of the document (it ended at 1:4); only whitespace and "
                          "comments may follow it"},
        Mistake{"{\"a\": 1,\n \"b\": \0}"s, "2:7: NUL byte (0x00): a configuration file is text and may not contain "
                                            "one"},
        Mistake{"{\"a\" 1,\n \"b\": \0}"s, "1:6: missing ':' after the key \"a\""},
        Mistake{"{\"a\": \"x\0\"}"s, "1:9: NUL byte (0x00): a configuration file is text and may not contain one"},
        Mistake{std::string(65, '[') + std::string(65, ']'), "1:65: nesting deeper than 64 levels"}),
    [](const ::testing::TestParamInfo<Mistake>& i) { return std::to_string(i.index); });

TEST(JsonSyntax, ValidTextHasNoProblem)
{
    for (const char* text : {"{}", "[]", "0", "-0.5e+3", "\"\\u00e9\\uD83D\\uDE00\"", "\xEF\xBB\xBF{\"a\": 1}",
                             "// c\n{ /* c */ \"a\" : [1, {\"b\": null}, true, false] } // end", "{\"a\": 1}\n\n"})
        EXPECT_EQ(explain(text), "(no problem)") << text;
}

// A big broken file is read in one pass: a position (line:col, a pass over
// the text) is worked out only for the message of the mistake. Worked out for
// every string or array on the way, this would take hours, not milliseconds.
TEST(JsonSyntax, ABigBrokenFileIsReadOnce)
{
    std::string text = "[\n";
    for (int i = 0; i < 200000; ++i)
        text += "{\"key\": [\"value\"]},\n";
    text += "}";
    EXPECT_EQ(explain(text), "200002:1: expected an element of the array opened at 1:1, found '}'");
}

TEST(JsonSyntax, PrintableEscapesWhatATerminalWouldActOn)
{
    EXPECT_EQ(printable("caf\xC3\xA9 \x1B[2J\x7F\xC2\x9B\xFF"), "caf\xC3\xA9 \\x1b[2J\\x7f\\xc2\\x9b\\xff");
    EXPECT_EQ(printable("plain"), "plain");
}

// Whatever the text, the reader finds a problem exactly when nlohmann's strict
// parser (comments allowed) refuses it or it holds a NUL, and never echoes a
// byte outside printable ASCII and valid UTF-8. Random edits of a valid
// document make texts that are almost right, where the two could disagree.
TEST(JsonSyntax, AgreesWithTheParserOnEditedDocuments)
{
    const std::string seed =
        "// kextconfd\n{\n  \"kext\": \"org.kextconf.reference\", /* id */\n"
        "  \"tunables\": {\"max_clients\": 128, \"ratio\": -1.5e-3, \"label\": \"a\\\"b\\u00e9\",\n"
        "    \"ports\": [80, 443], \"on\": true, \"off\": false, \"none\": null}\n}\n";
    const std::string alphabet = "{}[],:\"'\\/*#-+.0123456789eEtrufalsn xu\n\t\r\0\x7F\xC3\xA9\xFF"s;
    std::mt19937 rng(20261204);
    int problems = 0, clean = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string text = seed;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits && !text.empty(); ++e) {
            const std::size_t at = rng() % text.size();
            const char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 3) {
            case 0: text.erase(at, 1); break;
            case 1: text.insert(at, 1, c); break;
            default: text[at] = c;
            }
        }
        const bool parses =
            nlohmann::json::accept(text, /*ignore_comments=*/true) && text.find('\0') == std::string::npos;
        const auto p = find_syntax_problem(text);
        ASSERT_EQ(!p, parses) << "text: " << printable(text) << "\nreader: " << (p ? p->message : "(none)");
        if (p) {
            ASSERT_EQ(printable(p->message), p->message) << printable(text);
        }
        ++(p ? problems : clean);
    }
    std::printf("edited documents: %d with a problem, %d clean\n", problems, clean);
}

} // namespace
} // namespace kextconf
