#include "admin_policy.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace kextconf {

namespace {

// getpwuid_r/getgrnam_r want a buffer; grow it while they say ERANGE (a
// group with many members needs more than sysconf suggests).
template <typename Entry, typename Lookup> bool lookup(Lookup fn, Entry& entry, std::vector<char>& buf)
{
    buf.resize(4096);
    for (;;) {
        Entry* found = nullptr;
        const int rc = fn(&entry, buf.data(), buf.size(), &found);
        if (rc == ERANGE && buf.size() < (1u << 24)) {
            buf.resize(buf.size() * 2);
            continue;
        }
        return rc == 0 && found != nullptr;
    }
}

std::string user_text(uid_t uid, const char* name)
{
    return "uid " + std::to_string(uid) + (name != nullptr ? " (" + std::string(name) + ")" : "");
}

} // namespace

std::optional<gid_t> find_group(const std::string& name, std::string& error)
{
    group gr{};
    std::vector<char> buf;
    if (!lookup([&](group* g, char* b, std::size_t n, group** r) { return ::getgrnam_r(name.c_str(), g, b, n, r); }, gr,
                buf)) {
        error = "there is no group named \"" + name + "\" in the group database";
        return std::nullopt;
    }
    return gr.gr_gid;
}

AdminAccess admin_access(const PeerCred& peer, const std::string& admin_group)
{
    if (peer.uid == 0 || peer.uid == ::geteuid())
        return {true, {}};
    passwd pw{};
    std::vector<char> pwbuf;
    const bool known = lookup(
        [&](passwd* p, char* b, std::size_t n, passwd** r) { return ::getpwuid_r(peer.uid, p, b, n, r); }, pw, pwbuf);
    const std::string who = user_text(peer.uid, known ? pw.pw_name : nullptr);
    if (admin_group.empty())
        return {false, who + " may not use kextconfd: only root may (no --admin-group is set)"};
    group gr{};
    std::vector<char> grbuf;
    if (!lookup(
            [&](group* g, char* b, std::size_t n, group** r) { return ::getgrnam_r(admin_group.c_str(), g, b, n, r); },
            gr, grbuf))
        return {false, who + " may not use kextconfd: its admin group \"" + admin_group +
                           "\" is not in the group database, so only root may"};
    // A member by primary group, or listed in the group's member list.
    bool member = known && pw.pw_gid == gr.gr_gid;
    for (char** m = gr.gr_mem; known && !member && m != nullptr && *m != nullptr; ++m)
        member = std::strcmp(*m, pw.pw_name) == 0;
    if (member)
        return {true, {}};
    return {false, who + " is not a member of kextconfd's admin group \"" + admin_group +
                       "\": only root and members of that group may ask kextconfd for status or changes (read the "
                       "kext through its query control instead, or ask an administrator to add you to the group)"};
}

} // namespace kextconf
