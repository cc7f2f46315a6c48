#include "sysctl.hpp"

#include "host.hpp"
#include "kxs_abi.h"

#include <algorithm>

namespace kextsim {

namespace {
constexpr int kMaxDepth = 12; // CTL_MAXNAME

// The OID whose handler this thread is running, to catch an unregister that
// would wait for itself.
thread_local void* t_in_handler = nullptr;

[[noreturn]] void panic_logged(const std::string& msg)
{
    host().log.append(0x11 /* fault */, msg);
    kxs_host_panic(msg.c_str());
}

bool is_plain_node(const SysctlEntry& e)
{
    return (e.kind & SysctlTree::kCtlTypeMask) == SysctlTree::kCtlTypeNode && !e.has_handler;
}
} // namespace

bool SysctlTree::attached_locked(void* list)
{
    for (int depth = 0; depth <= kMaxDepth; ++depth) {
        if (list == nullptr)
            return true;
        auto it = nodes_.find(list);
        if (it == nodes_.end())
            return false;
        list = it->second->parent;
    }
    return false;
}

std::string SysctlTree::full_name_locked(const SysctlEntry& e)
{
    std::string name = e.name;
    void* list = e.parent;
    for (int depth = 0; list != nullptr && depth <= kMaxDepth; ++depth) {
        auto it = nodes_.find(list);
        if (it == nodes_.end())
            return "?." + name; // under a node that is not registered
        name = it->second->name + "." + name;
        list = it->second->parent;
    }
    return name;
}

int SysctlTree::register_oid(const kxs_sysctl_oid_params& p, int owner)
{
    std::unique_lock lock(m_);
    if (auto it = by_oid_.find(p.oid); it != by_oid_.end())
        panic_logged("sysctl_register_oid: \"" + it->second->full_name + "\" is already registered");
    auto e = std::make_unique<SysctlEntry>();
    e->oid = p.oid;
    e->parent = p.parent;
    e->children = p.children;
    e->kind = p.kind;
    e->has_handler = p.has_handler != 0;
    e->name = p.name;
    e->fmt = p.fmt != nullptr ? p.fmt : "";
    e->descr = p.descr != nullptr ? p.descr : "";
    e->owner = owner;
    if (!attached_locked(p.parent))
        panic_logged("sysctl_register_oid: the parent node of \"" + e->name +
                     "\" is not registered (register parents first and unregister them last; XNU would hang "
                     "the OID on an unreachable list)");

    e->full_name = full_name_locked(*e);
    auto& list = lists_[p.parent];
    if (p.number == kOidAuto) {
        int n = kOidAutoStart;
        for (const SysctlEntry* s : list)
            n = std::max(n, s->number + 1);
        e->number = n;
    } else {
        for (const SysctlEntry* s : list)
            if (s->number == p.number)
                panic_logged("sysctl_register_oid: \"" + e->full_name + "\" asks for number " +
                             std::to_string(p.number) + ", already taken by \"" + s->full_name +
                             "\" (XNU panics: attempting to register a sysctl at previously registered slot)");
        e->number = p.number;
    }
    auto pos = std::find_if(list.begin(), list.end(), [&](const SysctlEntry* s) { return s->number > e->number; });
    list.insert(pos, e.get());
    if (e->children != nullptr && is_plain_node(*e))
        nodes_.emplace(e->children, e.get());
    const int number = e->number;
    by_oid_.emplace(p.oid, std::move(e));
    return number;
}

void SysctlTree::unregister_oid(void* oid, const char* name)
{
    std::unique_lock lock(m_);
    auto it = by_oid_.find(oid);
    if (it == by_oid_.end())
        panic_logged(std::string("sysctl_unregister_oid: \"") + name +
                     "\" is not registered (XNU walks off the end of the parent list)");
    SysctlEntry* e = it->second.get();
    auto& list = lists_[e->parent];
    list.erase(std::find(list.begin(), list.end(), e));
    if (auto n = nodes_.find(e->children); e->children != nullptr && n != nodes_.end() && n->second == e) {
        nodes_.erase(n);
        if (auto c = lists_.find(e->children); c != lists_.end() && !c->second.empty())
            host().log.append(0x10 /* error */, "sysctl_unregister_oid: node \"" + e->full_name + "\" has " +
                                                    std::to_string(c->second.size()) +
                                                    " OIDs still registered under it (unregister children first)");
    }
    if (t_in_handler == oid)
        panic_logged("sysctl_unregister_oid: \"" + e->full_name +
                     "\" unregistered from its own handler (XNU would wait for it forever)");
    // No new request finds it now; wait for the ones running its handler.
    drained_.wait(lock, [&] { return e->inflight == 0; });
    by_oid_.erase(oid);
}

int SysctlTree::resolve_locked(const std::string& name, Resolved& out)
{
    void* list = nullptr;
    std::size_t start = 0;
    out = Resolved{};
    for (int depth = 0; depth < kMaxDepth; ++depth) {
        const std::size_t dot = name.find('.', start);
        const std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        const bool last = dot == std::string::npos;
        auto l = lists_.find(list);
        if (part.empty() || l == lists_.end())
            return KXS_ENOENT;
        auto e =
            std::find_if(l->second.begin(), l->second.end(), [&](const SysctlEntry* s) { return s->name == part; });
        if (e == l->second.end())
            return KXS_ENOENT;
        SysctlEntry* entry = *e;
        out.info.path.push_back(entry->number);
        if (!(entry->kind & kCtlFlagLocked))
            out.unlocked = true;
        if (last || !is_plain_node(*entry)) {
            if (!last)
                return KXS_ENOENT; // name components below a leaf (or a node handler): not supported
            out.entry = entry;
            out.info.name = name;
            out.info.kind = entry->kind;
            out.info.fmt = entry->fmt;
            return 0;
        }
        list = entry->children;
        start = dot + 1;
    }
    return KXS_ENOENT;
}

int SysctlTree::call(Resolved& r, void* old, std::size_t oldlen, std::size_t& oldidx, const void* new_value,
                     std::size_t newlen)
{
    std::unique_lock<std::mutex> giant;
    if (r.unlocked)
        giant = std::unique_lock(unlocked_node_m_);
    const int prev_kext = kxs_host_set_current_kext(r.entry->owner);
    void* prev_handler = t_in_handler;
    t_in_handler = r.entry->oid;
    oldidx = 0;
    const int err = kxs_kern_sysctl_call(r.entry->oid, old, oldlen, &oldidx, new_value, newlen);
    t_in_handler = prev_handler;
    kxs_host_set_current_kext(prev_kext);
    return err;
}

namespace {
// Holds a reference on an OID for the length of a request.
class OidRef {
public:
    OidRef(std::mutex& m, std::condition_variable& drained, SysctlEntry* e) : m_(m), drained_(drained), e_(e)
    {
        ++e_->inflight; // caller holds m
    }
    ~OidRef()
    {
        std::lock_guard lock(m_);
        if (--e_->inflight == 0)
            drained_.notify_all();
    }
    OidRef(const OidRef&) = delete;
    OidRef& operator=(const OidRef&) = delete;

private:
    std::mutex& m_;
    std::condition_variable& drained_;
    SysctlEntry* e_;
};
} // namespace

int SysctlTree::read(const std::string& name, SysctlInfo& info, std::vector<std::uint8_t>& value)
{
    value.clear();
    Resolved r;
    std::unique_ptr<OidRef> ref;
    {
        std::lock_guard lock(m_);
        if (int err = resolve_locked(name, r); err != 0)
            return err;
        info = r.info;
        if (is_plain_node(*r.entry))
            return 0;
        ref = std::make_unique<OidRef>(m_, drained_, r.entry);
    }
    // As sysctl(8) does: ask for the size, then read with room to spare.
    std::size_t needed = 0;
    if (int err = call(r, nullptr, 0, needed, nullptr, 0); err != 0)
        return err;
    value.resize(std::min(std::max<std::size_t>(needed * 2, 16), kMaxValue));
    std::size_t got = 0;
    const int err = call(r, value.data(), value.size(), got, nullptr, 0);
    value.resize(err == 0 ? std::min(got, value.size()) : 0);
    return err;
}

int SysctlTree::write(const std::string& name, const std::vector<std::uint8_t>& value, bool is_root)
{
    Resolved r;
    std::unique_ptr<OidRef> ref;
    {
        std::lock_guard lock(m_);
        if (int err = resolve_locked(name, r); err != 0)
            return err;
        if (is_plain_node(*r.entry))
            return KXS_ENOENT; // as XNU: the name ends at a node
        if (!(r.entry->kind & kCtlFlagWr))
            return KXS_EPERM;
        if (!(r.entry->kind & kCtlFlagAnybody) && !is_root)
            return KXS_EPERM; // proc_suser
        ref = std::make_unique<OidRef>(m_, drained_, r.entry);
    }
    std::size_t oldidx = 0;
    // A NULL new pointer means "no new value" to a handler; an empty string
    // still has to look like a write.
    static const std::uint8_t kEmpty = 0;
    return call(r, nullptr, 0, oldidx, value.empty() ? &kEmpty : value.data(), value.size());
}

int SysctlTree::next(const std::vector<int>& path, SysctlInfo& info)
{
    std::lock_guard lock(m_);
    std::vector<int> cur;
    std::string prefix;
    // Depth-first over registered nodes, children in number order.
    auto walk = [&](auto&& self, void* list, int depth) -> bool {
        auto l = lists_.find(list);
        if (l == lists_.end() || depth >= kMaxDepth)
            return false;
        for (SysctlEntry* e : l->second) {
            cur.push_back(e->number);
            const std::size_t prefix_len = prefix.size();
            prefix += (prefix.empty() ? "" : ".") + e->name;
            if (is_plain_node(*e)) {
                if (self(self, e->children, depth + 1))
                    return true;
            } else if (cur > path) {
                info.path = cur;
                info.name = prefix;
                info.kind = e->kind;
                info.fmt = e->fmt;
                return true;
            }
            prefix.resize(prefix_len);
            cur.pop_back();
        }
        return false;
    };
    return walk(walk, nullptr, 0) ? 0 : KXS_ENOENT;
}

std::vector<std::string> SysctlTree::owned_by(int owner)
{
    std::lock_guard lock(m_);
    std::vector<std::string> out;
    for (const auto& [oid, e] : by_oid_)
        if (e->owner == owner)
            out.push_back(e->full_name);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace kextsim

// ---- the table ----

extern "C" int32_t kxs_host_sysctl_register(const struct kxs_sysctl_oid_params* params)
{
    return kextsim::host().sysctl.register_oid(*params, kextsim::current_kext());
}

extern "C" void kxs_host_sysctl_unregister(void* oid, const char* name)
{
    kextsim::host().sysctl.unregister_oid(oid, name != nullptr ? name : "(null)");
}
