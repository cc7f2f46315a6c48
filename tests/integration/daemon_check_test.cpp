// `kextconfd --check` and `--print-config` against a real `kextsim boot`
// host: every error class with its exact file:line:col, which schema is used
// (the running kext, --schema FILE, the copy saved in the state directory,
// none), the unsafe-file rules, and the exit statuses 0 / 1 / 2.
#include "daemon_helpers.hpp"
#include "process.hpp"
#include <kextconf/schema.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace kctest;
using nlohmann::json;

class DaemonCheck : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(host_.ready()); }

    Result kextconfd(std::vector<std::string> args) const
    {
        args.insert(args.begin(), bin_path("kextconfd"));
        return run(std::move(args), SpawnOptions{host_.env(), false});
    }
    Result check(const std::string& path, std::vector<std::string> extra = {}, std::string state_dir = "") const
    {
        std::vector<std::string> args{"--check", "--config", path, "--state-dir",
                                      state_dir.empty() ? state_dir_ : state_dir};
        args.insert(args.end(), extra.begin(), extra.end());
        return kextconfd(args);
    }

    KextsimHost host_;
    const std::string state_dir_ = host_.dir().file("state");
};

struct ErrorClass {
    const char* name;
    std::string text;       // the file
    std::string diagnostic; // after "FILE:"
};

void PrintTo(const ErrorClass& c, std::ostream* os)
{
    *os << c.name;
}

class DaemonCheckError : public DaemonCheck, public ::testing::WithParamInterface<ErrorClass> {};

const std::string kHead = "{\n  \"kext\": \"org.kextconf.reference\",\n  \"tunables\": {\n";
const std::string kTail = "\n  }\n}\n";

// Each file has exactly one error; the whole output is compared.
TEST_P(DaemonCheckError, ExactPositionAndMessage)
{
    const std::string path = host_.dir().file("bad.json");
    write_file(path, GetParam().text);
    const Result r = check(path);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    // stderr: exactly the diagnostic; stdout: the verdict naming the schema.
    EXPECT_EQ(r.err, path + ":" + GetParam().diagnostic + "\n");
    const std::string name = GetParam().name;
    const bool structural = name != "UnknownTunable" && name != "WrongType" && name != "OutOfRange" &&
                            name != "StringTooLong" && name != "ListElementOutOfRange" && name != "EnumNotAllowed";
    EXPECT_EQ(r.out, path + ": 1 error" +
                         (structural ? "" : " (schema: the running kext org.kextconf.reference 0.1.0)") + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    Classes, DaemonCheckError,
    ::testing::Values(
        ErrorClass{"Syntax", kHead + "    \"max_clients\": 7,,\n    \"label\": \"x\"" + kTail,
                   "4:22: error: two commas in a row"},
        ErrorClass{"TrailingComma", kHead + "    \"max_clients\": 7," + kTail,
                   "4:21: error: trailing comma after the last member"},
        ErrorClass{"MissingComma", kHead + "    \"max_clients\": 7\n    \"label\": \"x\"" + kTail,
                   "4:21: error: missing comma after this member (the next one starts at 5:5)"},
        ErrorClass{"UnterminatedString", kHead + "    \"label\": \"x\n  }\n}\n",
                   "4:16: error: unterminated string (started at 4:14); a string cannot span lines (write \\n for "
                   "a line break)"},
        ErrorClass{"UnclosedObject", kHead + "    \"label\": \"x\"\n}\n",
                   "6:1: error: the object opened at 1:1 is not closed: the file ends before its }"},
        // nlohmann's lexer stops at a NUL: the daemon must not apply less than the file holds.
        ErrorClass{"NulAfterDocument", kHead + "    \"max_clients\": 7" + kTail + std::string("\0garbage {{{", 12),
                   "7:1: error: NUL byte (0x00) after the end of the document (it ended at 6:2); only whitespace "
                   "and comments may follow it"},
        ErrorClass{"Empty", "", " error: the file is empty"},
        ErrorClass{"Utf16", std::string("\xFF\xFE{\0\"\0k\0\"\0:\0 \0001\0}\0", 18),
                   " error: the file is UTF-16; save it as UTF-8"},
        ErrorClass{"RawBytesEscaped", kHead + "    \"label\": \"x\"\n  }\n}\n\x1B[2J\xFF",
                   "7:1: error: unexpected control character 0x1B after the end of the document (it ended at 6:2); "
                   "only whitespace and comments may follow it"},
        ErrorClass{"DuplicateKey", kHead + "    \"label\": \"a\",\n    \"label\": \"b\"" + kTail,
                   "5:5: error: duplicate key \"label\" (first at line 4)"},
        ErrorClass{"UnknownTopLevelKey",
                   "{\n  \"kext\": \"org.kextconf.reference\",\n  \"tunable\": {},\n  \"tunables\": {}\n}\n",
                   "3:3: error: unknown top-level key \"tunable\"; did you mean \"tunables\"?"},
        ErrorClass{"UnknownTunable", kHead + "    \"max_client\": 5" + kTail,
                   "4:5: error: unknown tunable \"max_client\"; did you mean \"max_clients\"?"},
        ErrorClass{"WrongType", kHead + "    \"enabled\": \"yes\"" + kTail,
                   "4:16: error: tunable \"enabled\": expected true or false, got \"yes\""},
        ErrorClass{"OutOfRange", kHead + "    \"max_clients\": 5000" + kTail,
                   "4:20: error: tunable \"max_clients\": 5000 is out of range [1, 1024]"},
        ErrorClass{"StringTooLong", kHead + "    \"label\": \"" + std::string(80, 'x') + "\"" + kTail,
                   "4:14: error: tunable \"label\": string is 80 bytes, longer than the maximum of 63"},
        ErrorClass{"ListElementOutOfRange", kHead + "    \"blocked_ports\": [80, 70000]" + kTail,
                   "4:27: error: tunable \"blocked_ports\"[1]: 70000 is out of range [1, 65535]"},
        ErrorClass{"EnumNotAllowed", kHead + "    \"log_level\": \"debg\"" + kTail,
                   "4:18: error: tunable \"log_level\": \"debg\" is not one of \"error\", \"warn\", \"info\", "
                   "\"debug\"; did you mean \"debug\"?"}),
    [](const ::testing::TestParamInfo<ErrorClass>& i) { return std::string(i.param.name); });

// The schema file carries what the running kext cannot show here (a list).
TEST_F(DaemonCheck, SchemaFileValidatesWithoutTheKext)
{
    kextconf::KextSchema s{"org.example.lists", "2.0", 1, {}};
    kextconf::proto::TunableDesc ports;
    ports.index = 0;
    ports.name = "ports";
    ports.type = KC_TYPE_INT64_LIST;
    ports.min.i = 1;
    ports.max.i = 65535;
    ports.max_count = 2;
    ports.def = kextconf::proto::Value::of_ints({});
    s.tunables = {ports};
    const std::string schema = host_.dir().file("lists.schema.json");
    write_file(schema, kextconf::schema_to_json(s).dump(2));

    const std::string path = host_.dir().file("lists.json");
    write_file(path, "{\n  \"kext\": \"org.example.lists\",\n  \"tunables\": {\n    \"ports\": [1, 2, 3]\n  }\n}\n");
    const Result r = check(path, {"--schema", schema});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_EQ(r.err, path + ":4:14: error: tunable \"ports\": list has 3 entries, more than the maximum of 2\n");
    EXPECT_EQ(r.out, path + ": 1 error (schema: the schema file " + schema + " (org.example.lists 2.0))\n");

    write_file(path, "{\n  \"kext\": \"org.example.lists\",\n  \"tunables\": {\n    \"ports\": [0, 443]\n  }\n}\n");
    const Result zero = check(path, {"--schema", schema});
    EXPECT_EQ(zero.exit_code, 1) << zero.describe();
    EXPECT_NE(zero.err.find(path + ":4:15: error: tunable \"ports\"[0]: 0 is out of range [1, 65535]"),
              std::string::npos)
        << zero.describe();

    write_file(path, "{\n  \"kext\": \"org.example.lists\",\n  \"tunables\": {\n    \"ports\": [22, 443]\n  }\n}\n");
    const Result ok = check(path, {"--schema", schema});
    EXPECT_EQ(ok.exit_code, 0) << ok.describe();
    EXPECT_EQ(ok.out, path + ": OK (schema: the schema file " + schema + " (org.example.lists 2.0))\n");

    // A schema for another kext is refused rather than half-used.
    const std::string other = host_.dir().file("other.json");
    write_file(other, config_text({{"max_clients", 5}}));
    const Result mismatch = check(other, {"--schema", schema});
    EXPECT_EQ(mismatch.exit_code, 1) << mismatch.describe();
    EXPECT_NE(mismatch.err.find("the schema is for org.example.lists but the file configures "
                                "\"org.kextconf.reference\""),
              std::string::npos)
        << mismatch.describe();
}

// The daemon saves the kext's schema each time it connects; --check uses it
// once the kext is gone, and says so.
TEST_F(DaemonCheck, SavedSchemaIsUsedWhenTheKextIsAway)
{
    const std::string path = host_.dir().file("config.json");
    write_file(path, config_text({{"max_clients", 100}}));
    {
        Process d({bin_path("kextconfd"), "--config", path, "--state-dir", state_dir_},
                  SpawnOptions{host_.env(), false});
        ASSERT_TRUE(wait_for_state(host_, 2, {{"max_clients", 100}})) << d.describe();
        stop_daemon(d);
    }
    const std::string saved = state_dir_ + "/schema.json";
    struct stat st {};
    ASSERT_EQ(::stat(saved.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    std::vector<kextconf::Diagnostic> errors;
    const auto schema = kextconf::load_schema_file(saved, errors);
    ASSERT_TRUE(schema) << (errors.empty() ? "" : errors[0].str());
    EXPECT_EQ(schema->bundle_id, kReferenceBundleId);
    EXPECT_EQ(schema->kext_version, "0.1.0");
    ASSERT_EQ(schema->tunables.size(), kReferenceDefaults.size());
    EXPECT_EQ(schema->tunables[1].name, "max_clients");
    EXPECT_EQ(schema->tunables[1].max.u, 1024u);

    ASSERT_TRUE(host_.wait_no_clients());
    ASSERT_EQ(host_.kextsim({"unload", kReferenceBundleId}).exit_code, 0);
    const Result ok = check(path);
    EXPECT_EQ(ok.exit_code, 0) << ok.describe();
    EXPECT_EQ(ok.out.rfind(path + ": OK (schema: the schema kextconfd saved in " + saved +
                               " (org.kextconf.reference 0.1.0); org.kextconf.reference is not loaded: ",
                           0),
              0u)
        << ok.describe();
    write_file(path, config_text({{"max_clients", 5000}}));
    const Result bad = check(path);
    EXPECT_TRUE(exited_saying(bad, 1, {"5000 is out of range [1, 1024]"}));

    // Without a saved schema: the values were not checked, and the exit
    // status says so (a CI gate must not pass the file); --syntax-only asks
    // for no more than syntax and structure.
    const Result none = check(path, {}, host_.dir().file("empty"));
    EXPECT_EQ(none.exit_code, 3) << none.describe();
    EXPECT_EQ(none.err, "") << none.describe();
    EXPECT_NE(none.out.find(path + ": syntax and structure OK, values NOT checked (schema: none ("), std::string::npos)
        << none.describe();
    const Result syntax = check(path, {"--syntax-only"}, host_.dir().file("empty"));
    EXPECT_EQ(syntax.exit_code, 0) << syntax.describe();
    EXPECT_EQ(syntax.out, path + ": OK (schema: none: syntax and structure only (--syntax-only))\n");
    write_file(path, "{\"kext\": \"org.kextconf.reference\", \"tunables\": {\"max_clients\": 5000},}");
    const Result broken = check(path, {"--syntax-only"}, host_.dir().file("empty"));
    EXPECT_EQ(broken.exit_code, 1) << broken.describe();
}

// A mistyped bundle id is not loaded: values not checked (exit 3), and the
// nearest bundle id this host knows is suggested.
TEST_F(DaemonCheck, MistypedBundleIdIsUncheckedWithDidYouMean)
{
    const std::string path = host_.dir().file("typo.json");
    write_file(path, "{\n  \"kext\": \"org.kextconf.refrence\",\n  \"tunables\": {\"max_clients\": 5000}\n}\n");
    const Result r = check(path, {}, host_.dir().file("empty"));
    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_NE(r.out.find("did you mean \"org.kextconf.reference\"?"), std::string::npos) << r.describe();
}

// One typo, one error: a misspelled top-level key is not also reported as
// a missing key, and errors come in file order.
TEST_F(DaemonCheck, MisspelledKeyIsReportedOnceInFileOrder)
{
    const std::string path = host_.dir().file("tunable.json");
    write_file(path, "{\n  \"kext\": \"org.kextconf.reference\",\n  \"tunable\": {\"max_clients\": 5}\n}\n");
    Result r = check(path);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_EQ(r.err, path + ":3:3: error: unknown top-level key \"tunable\"; did you mean \"tunables\"?\n");
    EXPECT_EQ(r.out, path + ": 1 error\n");

    write_file(path, "{\n  \"kxt\": \"org.kextconf.reference\",\n  \"tunables\": {},\n  \"zzz\": 1\n}\n");
    r = check(path);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_EQ(r.err, path + ":2:3: error: unknown top-level key \"kxt\"; did you mean \"kext\"?\n" + path +
                         ":4:3: error: unknown top-level key \"zzz\" (keys starting with \"x-\" are ignored)\n");
}

TEST_F(DaemonCheck, PrintConfigMergesFileOverDefaults)
{
    const std::string path = host_.dir().file("config.json");
    write_file(path, config_text({{"max_clients", 100}, {"label", "printed"}}));
    const Result r = kextconfd({"--print-config", "--config", path});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    json want = kReferenceDefaults;
    want["max_clients"] = 100;
    want["label"] = "printed";
    EXPECT_EQ(json::parse(r.out), json({{"kext", kReferenceBundleId}, {"tunables", want}}));
    EXPECT_NE(r.err.find("(schema: the running kext org.kextconf.reference 0.1.0)"), std::string::npos);

    ASSERT_TRUE(host_.wait_no_clients());
    ASSERT_EQ(host_.kextsim({"unload", kReferenceBundleId}).exit_code, 0);
    const Result alone = kextconfd({"--print-config", "--config", path, "--state-dir", state_dir_});
    ASSERT_EQ(alone.exit_code, 0) << alone.describe();
    EXPECT_EQ(json::parse(alone.out),
              json({{"kext", kReferenceBundleId}, {"tunables", {{"max_clients", 100}, {"label", "printed"}}}}));

    write_file(path, "{ \"kext\": ");
    const Result broken = kextconfd({"--print-config", "--config", path});
    EXPECT_EQ(broken.exit_code, 1) << broken.describe();
    EXPECT_EQ(broken.out, "");
    EXPECT_NE(broken.err.find(path + ":1:11: error: the file ends where the value of \"kext\" should be"),
              std::string::npos)
        << broken.describe();
}

// DESIGN rule 6, through --check (the daemon's load path): each unsafe file
// is refused naming the path and the fix.
TEST_F(DaemonCheck, UnsafeFilesAreRefusedNamingThePath)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to give files away";
    const std::string dir = host_.dir().file("etc");
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    const std::string path = dir + "/config.json";
    write_file(path, config_text({{"max_clients", 100}}));
    ASSERT_EQ(check(path).exit_code, 0);

    ASSERT_EQ(::chmod(path.c_str(), 0664), 0);
    Result r = check(path);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, path + ": error: is writable by group or others (mode 0664); fix with: chmod go-w " + path + "\n");
    EXPECT_EQ(r.out, path + ": 1 error\n");
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);

    ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
    r = check(path);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(path + ": error: is owned by uid 65534; it must belong to root"), std::string::npos)
        << r.describe();
    ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);

    ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
    r = check(path);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(path + ": error: directory " + dir +
                         " is writable by group or others (mode 0777); fix "
                         "with: chmod go-w " +
                         dir),
              std::string::npos)
        << r.describe();
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);

    const std::string link = dir + "/link.json";
    ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
    r = check(link);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(link + ": error: is a symbolic link; refusing to follow it (name the file itself)"),
              std::string::npos)
        << r.describe();
}

TEST_F(DaemonCheck, UsageErrorsExitTwoAndHelpTellsTheFlags)
{
    const std::string path = host_.dir().file("config.json");
    write_file(path, config_text({}));
    const Result no_config = kextconfd({"--check"});
    EXPECT_EQ(no_config.exit_code, 2) << no_config.describe();
    EXPECT_EQ(no_config.err, "kextconfd: --config is required (kextconfd --help)\n");
    // The bad word is named even when a required flag is missing too, and
    // the nearest real flag suggested.
    for (const auto& [args, said] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--bogus"}, "kextconfd: unknown option \"--bogus\" (kextconfd --help lists them)\n"},
             {{"--bogus", "--config", path}, "kextconfd: unknown option \"--bogus\" (kextconfd --help lists them)\n"},
             {{"--chek", "--config", path}, "kextconfd: unknown option \"--chek\"; did you mean \"--check\"?\n"},
             {{"--config=" + path, "--state-dri", "/x"},
              "kextconfd: unknown option \"--state-dri\"; did you mean \"--state-dir\"?\n"},
         }) {
        const Result r = kextconfd(args);
        EXPECT_EQ(r.exit_code, 2) << r.describe();
        EXPECT_EQ(r.err, said) << r.describe();
        EXPECT_EQ(r.out, "");
    }
    EXPECT_EQ(kextconfd({"--config", path, "--log-level", "loud"}).exit_code, 2);
    const Result schema_alone = kextconfd({"--config", path, "--schema", path});
    EXPECT_EQ(schema_alone.exit_code, 2) << schema_alone.describe();
    EXPECT_EQ(schema_alone.err, "kextconfd: --schema needs --check or --print-config\n") << schema_alone.describe();
    EXPECT_EQ(kextconfd({"--check", "--print-config", "--config", path}).exit_code, 2);

    const Result help = kextconfd({"--help"});
    EXPECT_EQ(help.exit_code, 0) << help.describe();
    for (const char* flag : {"--config", "--check", "--print-config", "--schema", "--state-dir", "--admin-socket",
                             "--reload-debounce-ms", "--log-level", "--foreground-log", "--version"})
        EXPECT_NE(help.out.find(flag), std::string::npos) << flag << " missing from --help";
    EXPECT_NE(help.out.find(host_.admin_socket()), std::string::npos) << "the default socket shown is the real one";
}

} // namespace
