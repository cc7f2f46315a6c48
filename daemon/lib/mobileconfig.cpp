// make_mobileconfig: the profile's XML, written element by element
// (kextconf/mobileconfig.hpp).
#include <kextconf/mobileconfig.hpp>

#include <array>
#include <cstdio>
#include <random>

namespace kextconf {

namespace {

using nlohmann::json;

std::string escaped(const std::string& s)
{
    std::string out;
    for (const char c : s)
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        default: out += c;
        }
    return out;
}

// Writes plist XML with one element per line, indented by depth.
class PlistWriter {
public:
    void line(const std::string& text) { out_ += std::string(depth_ * 4, ' ') + text + "\n"; }
    void key(const std::string& k) { line("<key>" + escaped(k) + "</key>"); }
    void string(const std::string& k, const std::string& v)
    {
        key(k);
        line("<string>" + escaped(v) + "</string>");
    }
    void open(const char* element)
    {
        line(std::string("<") + element + ">");
        ++depth_;
    }
    void close(const char* element)
    {
        --depth_;
        line(std::string("</") + element + ">");
    }
    // A config.json value; false (with `error`) for one a plist cannot carry.
    bool value(const json& v, const std::string& path, std::string& error)
    {
        if (v.is_boolean())
            return line(v.get<bool>() ? "<true/>" : "<false/>"), true;
        if (v.is_number_integer())
            return line("<integer>" + v.dump() + "</integer>"), true;
        if (v.is_string())
            return line("<string>" + escaped(v.get<std::string>()) + "</string>"), true;
        if (!v.is_array()) {
            error = path + ": " + v.type_name() + " is not a tunable value (boolean, integer, string or array)";
            return false;
        }
        open("array");
        for (std::size_t i = 0; i < v.size(); ++i)
            if (!value(v[i], path + "[" + std::to_string(i) + "]", error))
                return false;
        close("array");
        return true;
    }
    std::string text() const { return out_; }

private:
    std::string out_;
    std::size_t depth_ = 0;
};

// The payload's envelope keys, shared by the profile and its one payload.
void envelope(PlistWriter& w, const std::string& identifier, const std::string& type, const std::string& uuid,
              const std::string& display_name)
{
    w.string("PayloadDisplayName", display_name);
    w.string("PayloadIdentifier", identifier);
    w.string("PayloadType", type);
    w.string("PayloadUUID", uuid);
    w.key("PayloadVersion");
    w.line("<integer>1</integer>");
}

} // namespace

std::optional<std::string> make_mobileconfig(const std::string& kext, const json& tunables,
                                             const MobileconfigOptions& o, std::string& error)
{
    PlistWriter w;
    w.line("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    w.line("<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
           "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">");
    w.line("<plist version=\"1.0\">");
    w.open("dict");
    w.key("PayloadContent");
    w.open("array");
    w.open("dict"); // the one payload: managed preferences for the domain
    w.key("PayloadContent");
    w.open("dict");
    w.key(o.domain);
    w.open("dict");
    w.key("Forced");
    w.open("array");
    w.open("dict");
    w.key("mcx_preference_settings");
    w.open("dict");
    w.string("Kext", kext);
    w.key("Tunables");
    w.open("dict");
    for (const auto& [name, v] : tunables.items()) {
        w.key(name);
        if (!w.value(v, "Tunables." + name, error))
            return std::nullopt;
    }
    w.close("dict");
    w.close("dict");
    w.close("dict");
    w.close("array");
    w.close("dict");
    w.close("dict");
    envelope(w, o.identifier + ".kextconfd", "com.apple.ManagedClient.preferences", o.payload_uuid,
             "kextconfd settings (" + o.domain + ")");
    w.close("dict");
    w.close("array");
    w.string("PayloadDescription", "Settings for the kext " + kext +
                                       ", applied by kextconfd. Tunables set here "
                                       "override the Mac's config.json and cannot be "
                                       "changed locally.");
    envelope(w, o.identifier, "Configuration", o.profile_uuid, "kextconf: " + kext);
    if (!o.organization.empty())
        w.string("PayloadOrganization", o.organization);
    w.string("PayloadScope", "System");
    w.close("dict");
    w.line("</plist>");
    return w.text();
}

std::string random_uuid()
{
    std::random_device rd;
    std::array<unsigned char, 16> b{};
    for (auto& x : b)
        x = static_cast<unsigned char>(rd());
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40); // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80); // RFC 4122 variant
    char s[37];
    std::snprintf(s, sizeof s, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", b[0], b[1], b[2],
                  b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return s;
}

} // namespace kextconf
