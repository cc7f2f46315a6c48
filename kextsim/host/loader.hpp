// Loads and unloads .kext bundles the way kmutil does: reads
// Contents/Info.plist (libplist), dlopens Contents/MacOS/<CFBundleExecutable>,
// finds kmod_info and runs its start routine; on unload runs stop, and a
// failing stop refuses the unload.
//
// Threading: any thread; loads and unloads are serialized.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace kextsim {

struct BundleInfo {
    std::string path;
    std::string bundle_id;
    std::string executable;
    std::string version;
    std::vector<std::string> libraries; // OSBundleLibraries keys
};

// Parses and checks a bundle's Info.plist. Returns an error message or "".
std::string read_bundle(const std::string& path, BundleInfo& out);

class KextLoader {
public:
    // "" on success or a message saying what failed and why.
    std::string load(const std::string& path);
    // 0, KXS_EBUSY (stop refused: the kext stays loaded) or KXS_ENOENT (not
    // loaded). `message` says what happened, including leaks found after stop.
    int unload(const std::string& bundle_id, std::string& message);
    std::string show_loaded();
    // Stops every kext (last loaded first); used at shutdown.
    void unload_all(std::vector<std::string>& errors);

private:
    struct Loaded {
        int index;
        BundleInfo info;
        void* dl = nullptr;
        void* kmod_info = nullptr;
    };
    std::string stop_locked(Loaded& k, bool& refused);

    std::mutex m_;
    std::vector<Loaded> loaded_;
    int next_index_ = 1;
};

} // namespace kextsim
