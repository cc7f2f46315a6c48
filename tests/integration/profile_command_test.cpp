// `kextconfctl profile` (docs/fleet.md): the .mobileconfig it writes is read
// back with libplist, an independent reader, and checked for every key an
// MDM needs; then its payload, dropped into the managed-preferences
// directory the way macOS writes it (binary plist), changes the kext within
// one debounce, cannot be overridden locally, and its removal returns the
// file's values.
#include "daemon_helpers.hpp"
#include "process.hpp"

#include <nlohmann/json.hpp>
#include <plist/plist.h>

#include <memory>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace kctest;
using nlohmann::json;

struct PlistDeleter {
    void operator()(void* p) const { plist_free(static_cast<plist_t>(p)); }
};
using PlistPtr = std::unique_ptr<void, PlistDeleter>;

// libplist's reading as JSON (the types a profile carries).
json to_json(plist_t p)
{
    switch (plist_get_node_type(p)) {
    case PLIST_BOOLEAN: {
        std::uint8_t b = 0;
        plist_get_bool_val(p, &b);
        return b != 0;
    }
    case PLIST_UINT: {
        std::uint64_t v = 0;
        plist_get_uint_val(p, &v);
        return v;
    }
    case PLIST_STRING: {
        char* s = nullptr;
        plist_get_string_val(p, &s);
        json out = std::string(s);
        std::free(s);
        return out;
    }
    case PLIST_ARRAY: {
        json out = json::array();
        for (std::uint32_t i = 0; i < plist_array_get_size(p); ++i)
            out.push_back(to_json(plist_array_get_item(p, i)));
        return out;
    }
    case PLIST_DICT: {
        json out = json::object();
        plist_dict_iter it = nullptr;
        plist_dict_new_iter(p, &it);
        for (;;) {
            char* key = nullptr;
            plist_t v = nullptr;
            plist_dict_next_item(p, it, &key, &v);
            if (key == nullptr)
                break;
            out[key] = to_json(v);
            std::free(key);
        }
        std::free(it);
        return out;
    }
    default: return "(unexpected plist type)";
    }
}

const std::regex kUuid("[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}");

class ProfileCommand : public ManagedHostTest {
protected:
    const std::string profile_ = managed_dir_ + "/org.kextconf.kextconfd.plist";
};

TEST_F(ProfileCommand, WritesAMobileconfigThatAnMdmCanDeploy)
{
    const json fleet = {{"max_clients", 512},
                        {"log_level", "debug"},
                        {"enabled", false},
                        {"label", "fleet <&> \"quoted\""},
                        {"blocked_ports", {135, 445}},
                        {"trusted_paths", {"/usr/libexec", "/opt/a&b"}}};
    const std::string fleet_file = etc_ + "/fleet.json";
    write_file(fleet_file, config_text(fleet));
    const std::string out = etc_ + "/kextconf.mobileconfig";
    const Result r = host_.ctl({"profile", "--from", fleet_file, "--identifier", "com.example.kextconf",
                                "--organization", "Example Corp", "--output", out});
    ASSERT_EQ(r.exit_code, 0) << r.describe();

    const std::string text = read_file(out);
    plist_t raw = nullptr;
    plist_from_xml(text.data(), static_cast<std::uint32_t>(text.size()), &raw);
    ASSERT_NE(raw, nullptr) << "libplist cannot read:\n" << text;
    const PlistPtr doc(raw);
    const json profile = to_json(raw);

    EXPECT_EQ(profile.at("PayloadType"), "Configuration");
    EXPECT_EQ(profile.at("PayloadScope"), "System");
    EXPECT_EQ(profile.at("PayloadIdentifier"), "com.example.kextconf");
    EXPECT_EQ(profile.at("PayloadOrganization"), "Example Corp");
    EXPECT_EQ(profile.at("PayloadVersion"), 1);
    EXPECT_TRUE(profile.at("PayloadDisplayName").is_string());
    EXPECT_TRUE(profile.at("PayloadDescription").is_string());
    const std::string uuid = profile.at("PayloadUUID");
    EXPECT_TRUE(std::regex_match(uuid, kUuid)) << uuid;

    ASSERT_EQ(profile.at("PayloadContent").size(), 1u);
    const json& payload = profile.at("PayloadContent").at(0);
    EXPECT_EQ(payload.at("PayloadType"), "com.apple.ManagedClient.preferences");
    EXPECT_EQ(payload.at("PayloadIdentifier"), "com.example.kextconf.kextconfd");
    EXPECT_EQ(payload.at("PayloadVersion"), 1);
    const std::string payload_uuid = payload.at("PayloadUUID");
    EXPECT_TRUE(std::regex_match(payload_uuid, kUuid)) << payload_uuid;
    EXPECT_NE(payload_uuid, uuid);
    const json& forced = payload.at("PayloadContent").at("org.kextconf.kextconfd").at("Forced");
    ASSERT_EQ(forced.size(), 1u);
    const json& settings = forced.at(0).at("mcx_preference_settings");
    EXPECT_EQ(settings.at("Kext"), "org.kextconf.reference");
    EXPECT_EQ(settings.at("Tunables"), fleet);

    // Each run is a new profile: new UUIDs.
    const Result again = host_.ctl({"profile", "--from", fleet_file});
    ASSERT_EQ(again.exit_code, 0) << again.describe();
    EXPECT_EQ(again.out.find(uuid), std::string::npos);

    // macOS writes the payload's settings to the managed-preferences
    // directory (a binary plist); kextconfd applies them over the file's.
    const std::string config = etc_ + "/config.json";
    const json local = {{"max_clients", 100}, {"sample_interval_ms", 250}};
    write_file(config, config_text(local));
    Process d({bin_path("kextconfd"), "--config", config, "--state-dir", host_.dir().file("state"),
               "--managed-prefs-dir", managed_dir_},
              SpawnOptions{host_.env(), false});
    ASSERT_TRUE(wait_for_state(host_, 2, local)) << d.describe();

    plist_t payload0 = plist_array_get_item(plist_dict_get_item(raw, "PayloadContent"), 0);
    plist_t domain = plist_dict_get_item(plist_dict_get_item(payload0, "PayloadContent"), "org.kextconf.kextconfd");
    plist_t forced_settings =
        plist_dict_get_item(plist_array_get_item(plist_dict_get_item(domain, "Forced"), 0), "mcx_preference_settings");
    ASSERT_NE(forced_settings, nullptr);
    char* bin = nullptr;
    std::uint32_t len = 0;
    plist_to_bin(forced_settings, &bin, &len);
    replace_file(profile_, std::string(bin, len));
    plist_to_bin_free(bin);

    json managed = fleet;
    managed["sample_interval_ms"] = 250;
    ASSERT_TRUE(wait_for_state(host_, 3, managed)) << d.describe();
    const Result refused = host_.ctl({"set", "log_level=error"});
    EXPECT_TRUE(exited_saying(refused, 1, {"is managed by your organisation's profile"}));

    ASSERT_EQ(::unlink(profile_.c_str()), 0);
    ASSERT_TRUE(wait_for_state(host_, 4, local)) << d.describe();
    EXPECT_EQ(host_.ctl({"set", "log_level=error"}).exit_code, 0);
    stop_daemon(d);
}

TEST_F(ProfileCommand, RefusesAFileThatDoesNotFitTheKext)
{
    const std::string bad = etc_ + "/bad.json";
    write_file(bad, config_text({{"max_clients", 5000}}));
    const std::string out = etc_ + "/bad.mobileconfig";
    const Result r = host_.ctl({"profile", "--from", bad, "--output", out});
    EXPECT_TRUE(exited_saying(r, 1, {"tunable \"max_clients\": 5000 is out of range [1, 1024]"}));
    EXPECT_NE(::access(out.c_str(), F_OK), 0) << "no profile is written";
}

} // namespace
