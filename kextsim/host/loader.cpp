#include "loader.hpp"

#include "host.hpp"
#include "kxs_abi.h"

#include <plist/plist.h>

#include <dlfcn.h>
#include <fstream>
#include <memory>
#include <sstream>

namespace kextsim {

namespace {

// How long unload waits for a thread call callback of the kext to return
// after its stop routine did (the callback's own last instructions).
constexpr int kCallbackGraceMs = 1000;

struct PlistFree {
    void operator()(plist_t p) const { plist_free(p); }
};
using PlistPtr = std::unique_ptr<void, PlistFree>;

std::string string_key(plist_t dict, const char* key)
{
    plist_t node = plist_dict_get_item(dict, key);
    if (node == nullptr || plist_get_node_type(node) != PLIST_STRING)
        return {};
    char* s = nullptr;
    plist_get_string_val(node, &s);
    std::string out = s ? s : "";
    free(s);
    return out;
}

// Scoped attribution of KPI calls to the kext being started or stopped.
struct CurrentKext {
    explicit CurrentKext(int index) { set_current_kext(index); }
    ~CurrentKext() { set_current_kext(-1); }
};

// What kext `index` left behind after `when` ("stop", "a failed start"):
// controls and OIDs still registered and leaked blocks and thread calls, a
// line each; a kext that left a control or an OID must stay mapped (the host
// still points into its image).
struct Leftovers {
    std::string report;
    bool controls = false;
    bool oids = false;
};

Leftovers leftovers(int index, const std::string& when)
{
    Leftovers out;
    const auto controls = host().controls.owned_by(index);
    for (const auto& control : controls)
        out.report += "\n  kext bug: control \"" + control + "\" still registered after " + when;
    const auto oids = host().sysctl.owned_by(index);
    for (const auto& oid : oids)
        out.report += "\n  kext bug: sysctl \"" + oid + "\" still registered after " + when;
    for (const auto& leak : host().memory.leaks(index))
        out.report += "\n  leak: " + leak;
    for (const auto& leak : host().thread_calls.leaks(index))
        out.report += "\n  leak: " + leak;
    out.controls = !controls.empty();
    out.oids = !oids.empty();
    return out;
}

} // namespace

std::string read_bundle(const std::string& path, BundleInfo& out)
{
    out = BundleInfo{};
    out.path = path;
    while (out.path.size() > 1 && out.path.back() == '/')
        out.path.pop_back();
    const std::string plist_path = out.path + "/Contents/Info.plist";
    std::ifstream in(plist_path, std::ios::binary);
    if (!in)
        return "cannot read " + plist_path + " (is " + path + " a .kext bundle?)";
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string xml = buf.str();
    plist_t raw = nullptr;
    plist_from_xml(xml.data(), static_cast<uint32_t>(xml.size()), &raw);
    PlistPtr root(raw);
    if (!root || plist_get_node_type(root.get()) != PLIST_DICT)
        return plist_path + ": not a valid XML property list with a dictionary at the top";

    out.bundle_id = string_key(root.get(), "CFBundleIdentifier");
    out.executable = string_key(root.get(), "CFBundleExecutable");
    out.version = string_key(root.get(), "CFBundleVersion");
    if (out.bundle_id.empty())
        return plist_path + ": CFBundleIdentifier is missing";
    if (string_key(root.get(), "CFBundlePackageType") != "KEXT")
        return plist_path + ": CFBundlePackageType must be KEXT";
    if (out.executable.empty())
        return plist_path + ": CFBundleExecutable is missing (codeless kexts have nothing to load)";
    if (out.version.empty())
        return plist_path + ": CFBundleVersion is missing";

    plist_t libs = plist_dict_get_item(root.get(), "OSBundleLibraries");
    if (libs == nullptr || plist_get_node_type(libs) != PLIST_DICT || plist_dict_get_size(libs) == 0)
        return plist_path + ": OSBundleLibraries must list the com.apple.kpi.* bundles the kext links against";
    plist_dict_iter it = nullptr;
    plist_dict_new_iter(libs, &it);
    for (;;) {
        char* key = nullptr;
        plist_t val = nullptr;
        plist_dict_next_item(libs, it, &key, &val);
        if (key == nullptr)
            break;
        std::string k = key;
        free(key);
        // 64-bit kexts must depend on KPI bundles, never on com.apple.kernel*.
        if (k.rfind("com.apple.kernel", 0) == 0) {
            free(it);
            return plist_path + ": OSBundleLibraries names " + k +
                   ", which 64-bit kexts may not link against; use com.apple.kpi.*";
        }
        out.libraries.push_back(k);
    }
    free(it);
    return {};
}

std::string KextLoader::load(const std::string& path)
{
    BundleInfo info;
    if (std::string err = read_bundle(path, info); !err.empty())
        return err;
    std::lock_guard lock(m_);
    for (const auto& k : loaded_)
        if (k.info.bundle_id == info.bundle_id)
            return info.bundle_id + " is already loaded (from " + k.info.path + ")";

    const std::string exe = info.path + "/Contents/MacOS/" + info.executable;
    void* dl = ::dlopen(exe.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (dl == nullptr) {
        const char* e = ::dlerror();
        return "cannot link " + exe + ": " + (e ? e : "unknown error") +
               " (an undefined symbol here is a KPI kextsim does not provide)";
    }
    void* ki = ::dlsym(dl, "kmod_info");
    if (ki == nullptr) {
        ::dlclose(dl);
        return exe + " has no kmod_info (declare it with KMOD_EXPLICIT_DECL)";
    }
    char name[65] = {};
    char version[65] = {};
    kxs_kern_kmod_names(ki, name, sizeof name, version, sizeof version);
    if (info.bundle_id != name) {
        ::dlclose(dl);
        return "kmod_info names \"" + std::string(name) + "\" but the bundle is " + info.bundle_id;
    }

    Loaded k{next_index_++, info, dl, ki};
    host().log.name_kext(k.index, info.bundle_id); // before start: its log lines name it
    int32_t kr;
    {
        CurrentKext current(k.index);
        kr = kxs_kern_kmod_start(ki);
    }
    if (kr != 0) {
        std::string msg = "(libkern/kext) kext (kmod) start/stop routine failed: " + info.bundle_id +
                          " start returned " + std::to_string(kr);
        // A failed start must undo itself as completely as a stop would.
        const Leftovers left = leftovers(k.index, "a failed start");
        msg += left.report;
        if (!left.controls && !left.oids && host().thread_calls.wait_idle(k.index, kCallbackGraceMs))
            ::dlclose(dl); // else the controls or OIDs still point into the image: keep it mapped
        return msg;
    }
    loaded_.push_back(std::move(k));
    return {};
}

std::string KextLoader::stop_locked(Loaded& k, bool& refused)
{
    refused = false;
    int32_t kr;
    {
        CurrentKext current(k.index);
        kr = kxs_kern_kmod_stop(k.kmod_info);
    }
    if (kr != 0) {
        refused = true;
        return k.info.bundle_id + ": stop routine returned " + std::to_string(kr) +
               "; the kext refused to unload and is still loaded (are clients still connected?)";
    }
    const Leftovers left = leftovers(k.index, "stop");
    std::string report = left.report;
    const bool call_running = !host().thread_calls.wait_idle(k.index, kCallbackGraceMs);
    if (call_running)
        report += "\n  kext bug: a thread call is still running after stop returned";
    // A kext that left controls or OIDs registered, or whose thread call still
    // runs, must stay mapped: the host still points into its image.
    if (host().controls.owned_by(k.index).empty() && !left.oids && !call_running)
        ::dlclose(k.dl);
    return report.empty() ? std::string() : "unloaded " + k.info.bundle_id + " with problems:" + report;
}

int KextLoader::unload(const std::string& bundle_id, std::string& message)
{
    std::lock_guard lock(m_);
    for (auto it = loaded_.begin(); it != loaded_.end(); ++it) {
        if (it->info.bundle_id != bundle_id)
            continue;
        bool refused = false;
        message = stop_locked(*it, refused);
        if (refused)
            return KXS_EBUSY;
        loaded_.erase(it);
        if (message.empty())
            message = "unloaded " + bundle_id;
        return 0;
    }
    message = bundle_id + " is not loaded";
    return KXS_ENOENT;
}

std::string KextLoader::show_loaded()
{
    std::lock_guard lock(m_);
    std::ostringstream out;
    out << "Index Name (Version) Path\n";
    for (const auto& k : loaded_)
        out << k.index << ' ' << k.info.bundle_id << " (" << k.info.version << ") " << k.info.path << '\n';
    return out.str();
}

void KextLoader::unload_all(std::vector<std::string>& errors)
{
    std::lock_guard lock(m_);
    while (!loaded_.empty()) {
        bool refused = false;
        std::string err = stop_locked(loaded_.back(), refused);
        if (!err.empty())
            errors.push_back(err);
        loaded_.pop_back();
    }
}

} // namespace kextsim
