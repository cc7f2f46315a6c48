// Who may use kextconfd's admin socket (docs/operations.md, "Who may change
// what"): root (and the daemon's own uid) may do everything; members of the
// admin group named by --admin-group may too (status, set, persist, reload);
// everyone else is refused with a sentence saying why. Membership is read
// from the group database on every request, so a user removed from the group
// loses access at once, even over a connection made while still a member.
//
// Threading: pure functions of their arguments and the group database; any
// thread (the _r lookups).
#pragma once

#include "peer_cred.hpp"

#include <optional>
#include <string>
#include <sys/types.h>

namespace kextconf {

struct AdminAccess {
    bool allowed = false;
    std::string why; // when refused: a sentence for the client and the log
};

// The decision for `peer` given the admin group ("" = none: root only).
AdminAccess admin_access(const PeerCred& peer, const std::string& admin_group);

// The group's id; nullopt with `error` (a sentence) if there is no such group.
std::optional<gid_t> find_group(const std::string& name, std::string& error);

} // namespace kextconf
