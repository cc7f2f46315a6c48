// The config loader and validator against hostile input sizes: nesting
// 100,000 levels deep (refused at kMaxNestingDepth without recursion), input
// at the size cap (accepted or refused in bounded time) and over it (refused
// before parsing), and 1 MB of each input shape parsed and validated to the
// right verdict with its diagnostics capped. How the time grows with the
// input (linear, not quadratic) is a benchmark's question, not a test's: a
// loaded machine makes any time ratio flake. Figures are printed as
// "[ figures ]" lines.
#include <kextconf/config_loader.hpp>
#include <kextconf/source_map.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <time.h>

namespace kextconf {
namespace {

using proto::TunableDesc;
using Clock = std::chrono::steady_clock;

std::vector<TunableDesc> schema()
{
    std::vector<TunableDesc> s(3);
    s[0].index = 0;
    s[0].type = KC_TYPE_INT64_LIST;
    s[0].name = "ports";
    s[0].min.i = 0;
    s[0].max.i = 65535;
    s[0].max_count = 10'000'000;
    s[1].index = 1;
    s[1].type = KC_TYPE_STRING;
    s[1].name = "banner";
    s[1].max_count = 64;
    s[2].index = 2;
    s[2].type = KC_TYPE_STRING_LIST;
    s[2].name = "allow";
    s[2].max_count = 10'000'000;
    s[2].max.u = 255; // longest element (string lists keep it in max.u)
    for (auto& d : s)
        d.def.type = d.type;
    return s;
}

// CPU seconds of the calling thread: on a shared machine wall time measures
// the neighbours as much as the parser.
double cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Parse and validate; the CPU seconds it took (best of `runs`) and whether
// the result was a valid model (errors otherwise).
struct Outcome {
    double seconds = 1e9;
    bool valid = false;
    std::size_t errors = 0;
};

Outcome load(const std::string& text, int runs = 3)
{
    static const auto kSchema = schema();
    Outcome best;
    for (int i = 0; i < runs; ++i) {
        std::vector<Diagnostic> errors;
        const double t0 = cpu_seconds();
        auto doc = parse_config(text, "limits.json", errors);
        bool valid = false;
        if (doc && errors.empty())
            valid = validate_config(*doc, kSchema, errors).has_value() && errors.empty();
        const double s = cpu_seconds() - t0;
        if (s < best.seconds)
            best = {s, valid, errors.size()};
    }
    return best;
}

std::string wrap(const std::string& tunables, const std::string& extra = "")
{
    return "{\"kext\": \"org.example\", " + extra + "\"tunables\": {" + tunables + "}}";
}

// Input shapes, each a function of an approximate size in bytes.
struct Shape {
    const char* name;
    bool valid; // the model it describes is valid
    std::function<std::string(std::size_t)> make;
};

std::string repeat_until(std::size_t bytes, const std::function<std::string(std::size_t)>& piece, const char* sep = ",")
{
    std::string out;
    for (std::size_t i = 0; out.size() < bytes; ++i) {
        if (i)
            out += sep;
        out += piece(i);
    }
    return out;
}

const std::vector<Shape>& shapes()
{
    static const std::vector<Shape> s = {
        {"one long string (x- key)", true,
         [](std::size_t n) { return wrap("", "\"x-pad\": \"" + std::string(n, 'a') + "\", "); }},
        {"string with escapes", true,
         [](std::size_t n) {
             return wrap("", "\"x-pad\": \"" +
                                 repeat_until(
                                     n, [](std::size_t) { return "\\u00e9\\n"; }, "") +
                                 "\", ");
         }},
        {"integer list", true,
         [](std::size_t n) {
             return wrap("\"ports\": [" + repeat_until(n, [](std::size_t i) { return std::to_string(i % 65536); }) +
                         "]");
         }},
        {"string list", true,
         [](std::size_t n) {
             return wrap("\"allow\": [" +
                         repeat_until(n, [](std::size_t i) { return "\"host" + std::to_string(i) + "\""; }) + "]");
         }},
        {"object with many keys (x-)", true,
         [](std::size_t n) {
             return wrap("", "\"x-map\": {" + repeat_until(n, [](std::size_t i) {
                                 return "\"k" + std::to_string(i) + "\": 1";
                             }) + "}, ");
         }},
        {"comments and whitespace", true,
         [](std::size_t n) {
             return "// lead\n" +
                    repeat_until(
                        n, [](std::size_t) { return "/* c */ \n  // line\n"; }, "") +
                    wrap("\"banner\": \"x\"");
         }},
        {"nesting 60 deep, repeated", true,
         [](std::size_t n) {
             return wrap("", "\"x-deep\": [" + repeat_until(n, [](std::size_t) {
                                 return std::string(60, '[') + "1" + std::string(60, ']');
                             }) + "], ");
         }},
        {"unknown tunables (each an error)", false,
         [](std::size_t n) {
             return wrap(repeat_until(n, [](std::size_t i) { return "\"portz" + std::to_string(i) + "\": 1"; }));
         }},
        {"duplicate keys", false,
         [](std::size_t n) { return wrap(repeat_until(n, [](std::size_t) { return "\"banner\": \"b\""; })); }},
        {"out-of-range list entries", false,
         [](std::size_t n) {
             return wrap("\"ports\": [" + repeat_until(n, [](std::size_t) { return "70000"; }) + "]");
         }},
    };
    return s;
}

class ConfigShapes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ConfigShapes, OneMegabyteGetsItsVerdictWithCappedDiagnostics)
{
    constexpr std::size_t kSize = 1 << 20;
    const Shape& shape = shapes().at(GetParam());
    SCOPED_TRACE(shape.name);
    const std::string text = shape.make(kSize);
    ASSERT_LE(text.size(), kMaxConfigBytes);
    const Outcome o = load(text, 1);
    EXPECT_EQ(o.valid, shape.valid) << o.errors << " errors";
    EXPECT_LE(o.errors, kMaxDiagnostics + 1) << "diagnostics are capped";
    std::printf("[ figures ] %-34s %zu bytes: %7.1f ms CPU, %zu diagnostics\n", shape.name, text.size(),
                o.seconds * 1e3, o.errors);
}
INSTANTIATE_TEST_SUITE_P(Shapes, ConfigShapes, ::testing::Range<std::size_t>(0, shapes().size()));

// 100,000 levels of every kind of nesting: refused at the depth limit, one
// diagnostic, no stack overflow (a recursive parser would crash here).
TEST(ConfigLimits, HundredThousandLevelsAreRefusedWithOneDiagnostic)
{
    constexpr int kLevels = 100'000;
    std::string objects;
    for (int i = 0; i < kLevels; ++i)
        objects += "{\"a\":";
    std::string mixed;
    for (int i = 0; i < kLevels; ++i)
        mixed += i % 2 ? "[" : "{\"k\":";
    const std::string inside_tunables = wrap("\"allow\": " + std::string(kLevels, '[') + std::string(kLevels, ']'));
    for (const std::string& text : {std::string(kLevels, '['), objects, mixed, inside_tunables,
                                    std::string(kLevels, '[') + std::string(kLevels, ']')}) {
        std::vector<Diagnostic> errors;
        const auto t0 = Clock::now();
        EXPECT_FALSE(parse_config(text, "deep.json", errors));
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_NE(errors[0].message.find("nesting deeper than"), std::string::npos) << errors[0].str();
        std::printf("[ figures ] %zu bytes of nesting refused in %.2f ms\n", text.size(), ms);
    }
}

// At the cap: a valid 16 MiB file is accepted in bounded time; one byte more
// is refused before any parsing.
TEST(ConfigLimits, InputAtTheSizeCapIsHandledAndOverItRefused)
{
    const std::string head = "{\"kext\": \"org.example\", \"tunables\": {}, \"x-pad\": \"";
    const std::string tail = "\"}";
    std::string at_cap = head + std::string(kMaxConfigBytes - head.size() - tail.size(), 'p') + tail;
    ASSERT_EQ(at_cap.size(), kMaxConfigBytes);
    const Outcome ok = load(at_cap, 1);
    EXPECT_TRUE(ok.valid);
    std::printf("[ figures ] 16 MiB valid config parsed in %.1f ms CPU\n", ok.seconds * 1e3);

    at_cap.insert(head.size(), "p");
    std::vector<Diagnostic> errors;
    const auto t0 = Clock::now();
    EXPECT_FALSE(parse_config(at_cap, "big.json", errors));
    const double refuse_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("over the limit"), std::string::npos);
    std::printf("[ figures ] one byte over the cap refused in %.2f ms\n", refuse_ms);

    // A 16 MiB integer list: the largest model the cap allows.
    const std::string list =
        wrap("\"ports\": [" + repeat_until(kMaxConfigBytes - 64, [](std::size_t) { return "65535"; }) + "]");
    ASSERT_LE(list.size(), kMaxConfigBytes);
    const Outcome big = load(list, 1);
    EXPECT_TRUE(big.valid);
    std::printf("[ figures ] 16 MiB config with a 2.8M-entry list parsed and validated in %.1f ms CPU\n",
                big.seconds * 1e3);
}

} // namespace
} // namespace kextconf
