// kextconfd's local admin socket: how kextconfctl (and tests) ask the running
// daemon for its status and tell it to reload. Shared by the daemon (server)
// and the CLI (client); the server lives in daemon/kextconfd, the client in
// daemon/lib/admin_client.cpp.
//
// Transport: AF_UNIX SOCK_STREAM at the path below (kextconfd --admin-socket,
// kextconfctl --daemon-socket or $KEXTCONFD_SOCKET). The socket file is 0600
// in a root-owned directory, and the server also checks the peer's uid
// (SO_PEERCRED / getpeereid) before answering anything: only root (or the
// uid the daemon itself runs as, root under launchd) talks to the daemon. A
// refused peer gets no reply, just the end of the connection.
// With kextconfd --admin-group G the file is root:G 0660 and G's members are
// served like root; membership is read from the group database for every
// request, and a peer that is not (or no longer) a member is answered
// {"v":1,"ok":false,"denied":true,"error":"uid N (name) is not a member ..."}.
//
// Framing: one request per connection. The client writes one JSON object on
// one line ('\n'-terminated); the server answers with one JSON object on one
// line and closes. Requests and replies are capped at kMaxMessage bytes; the
// server gives a client 2 s to send its request and 2 s to take the reply.
//
// Requests:
//   {"v":1,"cmd":"status"}
//   {"v":1,"cmd":"reload"}   same path as SIGHUP; answers when the reload
//                            (and the apply, if the kext is loaded) is done
//   {"v":1,"cmd":"set","values":{"name":<json value>, ...}}
//                            one transaction on the kext, transient like
//                            `kextconfctl set`; answers {"ok":true,
//                            "generation":N,"previous_generation":N,
//                            "config_hash":"...","changed":N}
//   {"v":1,"cmd":"persist","values":{...}}
//                            edits the config file (comments kept, checked
//                            against the kext's schema, replaced atomically)
//                            and reloads it, like `kextconfctl set --persist`;
//                            answers as "reload" plus "saved":true,
//                            "kept_comments":bool
//   (a refused set or persist changes nothing; "errors" lists why, one
//   "tunable \"name\": ..." each)
// Replies always carry "v" and "ok"; on failure "error" is a sentence for a
// person. Status ("ok":true):
//   {"v":1,"ok":true,
//    "daemon":{"pid":N,"version":"0.1.0","uptime_s":N},
//    "config":{"path":"...","state":"good"|"bad"|"missing",
//              "source":"file"|"saved-copy"|"none",   what is being applied
//              "errors":["file:line:col: error: ...", ...],   of the last load
//              "loaded_at":"2026-11-23T15:00:00Z"},
//    "kext":{"bundle_id":"...","loaded":bool,"load_id":N,"generation":N,
//            "config_hash":"0x...","event_seq":N,"version":"..."},
//            (bundle_id null before any configuration; load_id..version only
//            when loaded; "error":"..." when it is there but unusable, e.g.
//            a protocol mismatch)
//    "applied":{"generation":N,"config_hash":"0x...","at":"...","changed":N}
//              or null before the first apply,
//    "drift":[{"name":"...","file":<json value>,"kext":<json value>}, ...],
//            (tunables whose value in the kext differs from the configuration
//            in force, read live; load-only ones pending the next load are
//            not drift)
//    "counters":{"applies":N,"apply_failures":N,"reloads":N,"events":N,
//                "seq_gaps":N,"rereads":N}}
// Reload ("ok" is true only if the file was good and, with the kext loaded,
// applied and verified; with the kext not loaded a good file gives "ok":true,
// "applied":false and is applied when the kext loads):
//   {"v":1,"ok":bool,"applied":bool,"changed":["name", ...],
//    "errors":["file:line:col: error: ...", ...],"error":"..."}
//   ("changed": the tunables this apply changed; "error" only when not ok)
// Any request may also be answered {"v":1,"ok":false,"error":"..."} (not a
// JSON object, unknown "cmd", another "v", over kMaxMessage).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>

namespace kextconf::admin {

inline constexpr int kVersion = 1;
inline constexpr std::size_t kMaxMessage = 1u << 20;
// Environment variable that overrides the default socket path for clients.
inline constexpr const char* kSocketEnv = "KEXTCONFD_SOCKET";

// The compiled-in default (CMake KEXTCONF_DEFAULT_ADMIN_SOCKET), unless
// $KEXTCONFD_SOCKET is set.
std::string default_socket_path();

// Sends one request and returns the reply. ec: ENOENT/ECONNREFUSED (daemon not
// running), EACCES (not root), ETIMEDOUT, EPROTO (malformed reply).
nlohmann::json request(const std::string& socket_path, const nlohmann::json& req, std::chrono::milliseconds timeout,
                       std::error_code& ec);

} // namespace kextconf::admin
