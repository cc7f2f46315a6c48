// kextsim's sysctl MIB: the OIDs kexts register, by parent list and number,
// and the requests `kextsim sysctl` makes on them. The struct sysctl_oid
// stays in the kext; the host keeps a copy of what it needs (number, kind,
// name, format) and asks the kernel domain to run the handler.
//
// Rules as in XNU (bsd/kern/kern_newsysctl.c): OID_AUTO numbers from 100 up,
// an explicit number already taken panics, writes need CTLFLAG_WR and root
// unless CTLFLAG_ANYBODY, unregistering waits for the handler calls in
// flight, and a handler on a path without CTLFLAG_LOCKED runs under one
// global mutex. kextsim also panics when the parent node is not registered.
//
// Threading: any thread. The tree mutex is never held while a handler runs;
// each call holds a reference on its OID instead (XNU's oid_refcnt).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct kxs_sysctl_oid_params;

namespace kextsim {

struct SysctlEntry {
    void* oid = nullptr;      // the kext's struct sysctl_oid
    void* parent = nullptr;   // parent list (nullptr: top level)
    void* children = nullptr; // a node's own list, else nullptr
    int number = 0;
    std::uint32_t kind = 0; // oid_kind
    bool has_handler = false;
    std::string name, fmt, descr; // copies
    std::string full_name;        // dotted, as registered (kept if a parent goes first)
    int owner = -1;               // load index of the kext that registered it
    int inflight = 0;             // handler calls running now
};

// One OID as a request sees it.
struct SysctlInfo {
    std::vector<int> path; // numeric name (debug.foo = 5.100)
    std::string name;      // dotted name
    std::uint32_t kind = 0;
    std::string fmt;
};

class SysctlTree {
public:
    static constexpr std::uint32_t kCtlTypeMask = 0xf;
    static constexpr std::uint32_t kCtlTypeNode = 1;
    static constexpr std::uint32_t kCtlFlagWr = 0x40000000;
    static constexpr std::uint32_t kCtlFlagAnybody = 0x10000000;
    static constexpr std::uint32_t kCtlFlagLocked = 0x00800000;
    static constexpr int kOidAuto = -1;
    static constexpr int kOidAutoStart = 100;
    // Largest value a read returns (it travels in one wire reply).
    static constexpr std::size_t kMaxValue = 60 * 1024;

    // sysctl_register_oid / sysctl_unregister_oid (panic on the rules above).
    int register_oid(const kxs_sysctl_oid_params& p, int owner);
    void unregister_oid(void* oid, const char* name);

    // Requests; all return Darwin errnos. A node without a handler reads as
    // itself with an empty value (the CLI then lists what is under it).
    int read(const std::string& name, SysctlInfo& info, std::vector<std::uint8_t>& value);
    int write(const std::string& name, const std::vector<std::uint8_t>& value, bool is_root);
    // The first OID after `path` in depth-first numeric order whose path is
    // greater, leaves only (and nodes with a handler); ENOENT after the last.
    int next(const std::vector<int>& path, SysctlInfo& info);

    // Dotted names of the OIDs kext `owner` left registered.
    std::vector<std::string> owned_by(int owner);

private:
    struct Resolved {
        SysctlEntry* entry = nullptr;
        bool unlocked = false; // some OID on the path lacks CTLFLAG_LOCKED
        SysctlInfo info;
    };
    int resolve_locked(const std::string& name, Resolved& out);
    bool attached_locked(void* list);
    std::string full_name_locked(const SysctlEntry& e);
    // Runs the handler with a reference held and the tree unlocked.
    int call(Resolved& r, void* old, std::size_t oldlen, std::size_t& oldidx, const void* new_value,
             std::size_t newlen);

    std::mutex m_;
    std::condition_variable drained_;
    std::mutex unlocked_node_m_; // XNU's sysctl_unlocked_node_lock
    std::map<void*, std::unique_ptr<SysctlEntry>> by_oid_;
    std::map<void*, std::vector<SysctlEntry*>> lists_; // list -> entries by number; nullptr = top level
    std::map<void*, SysctlEntry*> nodes_;              // list -> the registered node that owns it
};

} // namespace kextsim
