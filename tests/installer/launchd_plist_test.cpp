// The launchd job (launchd/org.kextconf.kextconfd.plist), parsed with
// libplist as launchd would read it: every key is one launchd knows and has
// the intended value, every flag in ProgramArguments is one the built
// kextconfd accepts (its --help, and a --check run with exactly those
// arguments), and every path matches the install layout.
#include "process.hpp"

#include <plist/plist.h>

#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace kctest;

using PlistPtr = std::unique_ptr<void, void (*)(plist_t)>;

const std::string kPlistPath = source_dir() + "/launchd/org.kextconf.kextconfd.plist";

PlistPtr load_plist()
{
    const std::string xml = read_file(kPlistPath);
    plist_t raw = nullptr;
    plist_from_xml(xml.data(), static_cast<uint32_t>(xml.size()), &raw);
    return PlistPtr(raw, plist_free);
}

std::string str(plist_t node)
{
    if (node == nullptr || plist_get_node_type(node) != PLIST_STRING)
        return "<not a string>";
    char* s = nullptr;
    plist_get_string_val(node, &s);
    std::string out = s ? s : "";
    free(s);
    return out;
}

std::optional<bool> boolean(plist_t node)
{
    if (node == nullptr || plist_get_node_type(node) != PLIST_BOOLEAN)
        return std::nullopt;
    uint8_t b = 0;
    plist_get_bool_val(node, &b);
    return b != 0;
}

std::optional<uint64_t> integer(plist_t node)
{
    if (node == nullptr || plist_get_node_type(node) != PLIST_UINT)
        return std::nullopt;
    uint64_t v = 0;
    plist_get_uint_val(node, &v);
    return v;
}

std::vector<std::string> program_arguments(plist_t root)
{
    std::vector<std::string> out;
    plist_t args = plist_dict_get_item(root, "ProgramArguments");
    if (args == nullptr || plist_get_node_type(args) != PLIST_ARRAY)
        return out;
    for (uint32_t i = 0; i < plist_array_get_size(args); ++i)
        out.push_back(str(plist_array_get_item(args, i)));
    return out;
}

TEST(LaunchdPlist, EveryKeyIsKnownAndSet)
{
    auto root = load_plist();
    ASSERT_TRUE(root && plist_get_node_type(root.get()) == PLIST_DICT) << kPlistPath << " is not a plist dictionary";
    const std::set<std::string> expected = {"Label",       "ProgramArguments", "RunAtLoad",
                                            "KeepAlive",   "ThrottleInterval", "ExitTimeOut",
                                            "ProcessType", "StandardErrorPath"};
    std::set<std::string> keys;
    plist_dict_iter it = nullptr;
    plist_dict_new_iter(root.get(), &it);
    for (;;) {
        char* key = nullptr;
        plist_t value = nullptr;
        plist_dict_next_item(root.get(), it, &key, &value);
        if (key == nullptr)
            break;
        keys.insert(key);
        free(key);
    }
    free(it);
    EXPECT_EQ(keys, expected);

    const plist_t r = root.get();
    EXPECT_EQ(str(plist_dict_get_item(r, "Label")), "org.kextconf.kextconfd");
    EXPECT_EQ(boolean(plist_dict_get_item(r, "RunAtLoad")), true);
    // Restart only after a failure: kextconfd exits 0 on SIGTERM (a clean stop).
    plist_t keep = plist_dict_get_item(r, "KeepAlive");
    ASSERT_TRUE(keep && plist_get_node_type(keep) == PLIST_DICT);
    EXPECT_EQ(plist_dict_get_size(keep), 1u);
    EXPECT_EQ(boolean(plist_dict_get_item(keep, "SuccessfulExit")), false);
    const auto throttle = integer(plist_dict_get_item(r, "ThrottleInterval"));
    ASSERT_TRUE(throttle);
    EXPECT_GE(*throttle, 1u);
    EXPECT_LE(*throttle, 60u);
    // launchd sends SIGKILL after ExitTimeOut; kextconfd stops in well under a second.
    const auto exit_timeout = integer(plist_dict_get_item(r, "ExitTimeOut"));
    ASSERT_TRUE(exit_timeout);
    EXPECT_GE(*exit_timeout, 5u);
    const std::set<std::string> types = {"Background", "Standard", "Adaptive", "Interactive"};
    EXPECT_TRUE(types.count(str(plist_dict_get_item(r, "ProcessType"))));
    EXPECT_EQ(str(plist_dict_get_item(r, "StandardErrorPath")), "/Library/Logs/kextconfd.log")
        << "the uninstaller's --purge removes this path";
}

TEST(LaunchdPlist, ArgumentsMatchTheInstallLayout)
{
    auto root = load_plist();
    ASSERT_TRUE(root);
    const auto args = program_arguments(root.get());
    ASSERT_EQ(args.size(), 5u);
    EXPECT_EQ(args[0], "/" KEXTCONF_INSTALL_LIBEXECDIR "/kextconfd");
    EXPECT_EQ(args[1], "--config");
    EXPECT_EQ(args[2], "/" KEXTCONF_INSTALL_SUPPORTDIR "/config.json");
    EXPECT_EQ(args[3], "--state-dir");
    EXPECT_EQ(args[4], "/" KEXTCONF_INSTALL_STATEDIR);
    // The pkg scripts use the same paths (installer/scripts/kextconf-lib.sh).
    const std::string lib = read_file(source_dir() + "/installer/scripts/kextconf-lib.sh");
    for (const char* path : {"/" KEXTCONF_INSTALL_LIBEXECDIR "/kextconfd", "/" KEXTCONF_INSTALL_STATEDIR,
                             "/" KEXTCONF_INSTALL_SUPPORTDIR "\"", "/" KEXTCONF_INSTALL_LAUNCHDDIR "/",
                             "/" KEXTCONF_INSTALL_KEXTDIR "/", "/" KEXTCONF_INSTALL_BINDIR "/kextconfctl"})
        EXPECT_NE(lib.find(path), std::string::npos) << path << " is not in kextconf-lib.sh";
}

TEST(LaunchdPlist, KextconfdAcceptsEveryFlag)
{
    auto root = load_plist();
    ASSERT_TRUE(root);
    auto args = program_arguments(root.get());
    ASSERT_FALSE(args.empty());
    const Result help = run({bin_path("kextconfd"), "--help"});
    ASSERT_EQ(help.exit_code, 0) << help.describe();
    for (const auto& a : args) {
        if (a.starts_with("--")) {
            EXPECT_TRUE(std::regex_search(help.out, std::regex("(^|[ ,])" + a + "[ =\n]")))
                << a << " is not in kextconfd --help:\n"
                << help.out;
        }
    }

    // The exact argument vector, with the paths moved into a scratch root
    // and --check --syntax-only added (no kext here to check the values
    // against), parses and runs.
    TempDir dir;
    const std::string config = dir.file("config.json");
    write_file(config, read_file(source_dir() + "/config/config.json"));
    args[0] = bin_path("kextconfd");
    args[2] = config;
    args[4] = dir.file("state");
    args.push_back("--check");
    args.push_back("--syntax-only");
    const Result check = run(args, {{{"KEXTSIM_ROOT", dir.file("no-kextsim")}}, false});
    EXPECT_EQ(check.exit_code, 0) << check.describe();
    EXPECT_NE(check.out.find(config + ": OK"), std::string::npos) << check.describe();
}

} // namespace
