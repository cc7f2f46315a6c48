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
//   {"v":1,"cmd":"status"}   answered with a StatusReply (below)
//   {"v":1,"cmd":"reload"}   same path as SIGHUP; answers when the reload
//                            (and the apply, if the kext is loaded) is done,
//                            with a ReloadReply
//   {"v":1,"cmd":"set","values":{"name":<json value>, ...}}   (a ChangeRequest)
//                            one transaction on the kext, transient like
//                            `kextconfctl set`; answered with a SetReply
//   {"v":1,"cmd":"persist","values":{...}}
//                            edits the config file (comments kept, checked
//                            against the kext's schema, replaced atomically)
//                            and reloads it, like `kextconfctl set --persist`;
//                            answered with a PersistReply
//   (a tunable the organisation's profile manages is refused by both, with
//   managed_refusal's words; a refused set or persist changes nothing; "errors" lists why, one
//   "tunable \"name\": ..." each)
// Replies always carry "v" and "ok"; on failure "error" is a sentence for a
// person. The replies are the typed structs below, written by the daemon and
// read by kextconfctl through the same to_json/from_json; their JSON is
// documented field by field in docs/daemon.md. Hashes are
// format_config_hash's 16 lowercase hex digits. Any request may also be
// answered {"v":1,"ok":false,"error":"..."} (not a JSON object, unknown
// "cmd", another "v", over kMaxMessage).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace kextconf::admin {

inline constexpr int kVersion = 1;
inline constexpr std::size_t kMaxMessage = 1u << 20;
// Environment variable that overrides the default socket path for clients.
inline constexpr const char* kSocketEnv = "KEXTCONFD_SOCKET";

// The compiled-in default (kextconf/defaults.hpp), unless
// $KEXTCONFD_SOCKET is set.
std::string default_socket_path();

// The config file's last load ("config.state").
enum class FileState {
    Missing, // "missing": not there (or never read)
    Good,    // "good": parsed, and fitted the kext's schema when last checked
    Bad,     // "bad": unreadable, unsafe, did not parse or did not fit; see "errors"
};

// What is being applied ("config.source").
enum class Applying {
    File,      // "file": what the file said when it was last good
    SavedCopy, // "saved-copy": the state directory's last good copy (the file was unusable at start-up)
    Nothing,   // "none": no configuration yet
};

// What can truthfully be said about drift ("drift_state").
enum class DriftState {
    InSync,        // "in-sync": the kext holds what the configuration in force says
    Drifted,       // "drifted": "drift" lists the tunables that differ
    KextNotLoaded, // "kext-not-loaded": nothing to compare with
    NotApplied,    // "not-applied": nothing applied to this load of the kext (no good configuration, refused, not yet)
    Unknown,       // "unknown": the kext's values could not be read
};

// Where a tunable's value comes from ("sources" in status): the layers
// default < file < managed, or a transient change (`kextconfctl set`) that
// the kext holds over them until the next reload.
enum class ValueSource {
    Default,   // "default": neither the file nor a profile sets it
    File,      // "file": the config file
    Managed,   // "managed": the organisation's profile (managed preferences)
    Transient, // "transient": the kext holds another value, set at run time
};

// The managed-preferences profile ("managed"; null without --managed-prefs-dir).
struct ManagedInfo {
    std::string domain;
    std::string path;
    FileState state = FileState::Missing;
    std::vector<std::string> errors;   // of the last read: domain: error: Key.path: ...
    std::string changed_at;            // ISO 8601 UTC: the file's modification time; "" (null) when missing
    std::string read_at;               // ISO 8601 UTC: when the daemon last read it
    std::vector<std::string> tunables; // those the latest good profile manages (`set` refuses them)
};

// `set` and `set --persist` of a managed tunable are refused with this.
std::string managed_refusal(const std::string& tunable, const std::string& domain);

struct DaemonInfo {
    std::int64_t pid = 0;
    std::string version;
    std::int64_t uptime_s = 0;
};

struct ConfigInfo {
    std::string path;
    FileState state = FileState::Missing;
    Applying source = Applying::Nothing;
    std::vector<std::string> errors; // of the last load, file:line:col: error: ...
    std::string loaded_at;           // ISO 8601 UTC; "" (null in JSON) before the first read
};

struct KextInfo {
    std::string bundle_id; // "" (null in JSON) before any configuration
    bool loaded = false;
    // Only when loaded:
    std::string version;
    std::uint32_t load_id = 0;
    std::uint64_t generation = 0;
    std::uint64_t config_hash = 0;
    std::uint32_t event_seq = 0;
    std::string error; // there but unusable (e.g. a protocol mismatch); "" (absent in JSON) otherwise
};

struct AppliedInfo {
    std::uint64_t generation = 0;
    std::uint64_t config_hash = 0;
    std::string at; // ISO 8601 UTC
    std::uint32_t changed = 0;
};

// A tunable whose value in the kext is not what the configuration in force
// says; load-only ones pending the next load are not drift.
struct DriftEntry {
    std::string name;
    nlohmann::json file;
    nlohmann::json kext;
};

struct Counters {
    std::uint64_t applies = 0;        // commits the daemon made (and verified)
    std::uint64_t apply_failures = 0; // applies that failed (refused, link error, verification)
    std::uint64_t reloads = 0;        // file reloads: edits, SIGHUP, admin
    std::uint64_t events = 0;         // kext events received
    std::uint64_t seq_gaps = 0;       // gaps in their sequence numbers
    std::uint64_t rereads = 0;        // state re-reads those (and foreign commits) caused
};

struct StatusReply {
    DaemonInfo daemon;
    ConfigInfo config;
    KextInfo kext;
    std::optional<AppliedInfo> applied; // null before the first apply
    DriftState drift_state = DriftState::NotApplied;
    std::vector<DriftEntry> drift;
    Counters counters;
    std::optional<ManagedInfo> managed;
    // Each tunable's source, in the kext's order (empty when nothing is applied to the loaded kext).
    std::vector<std::pair<std::string, ValueSource>> sources;
};

// "ok" is true only if the file was good and, with the kext loaded, applied
// and verified; with the kext not loaded a good file gives ok and not
// applied, and is applied when the kext loads.
struct ReloadReply {
    bool ok = false;
    bool applied = false;
    std::vector<std::string> changed; // the tunables this apply changed
    std::vector<std::string> errors;  // file:line:col: error: ...
    std::string error;                // only when not ok
};

// "set" and "persist": tunable names and their values as the config file
// writes them (a JSON object; anything else is refused with a reason).
struct ChangeRequest {
    nlohmann::json values;
};

// "set": one transaction on the kext the configuration names.
struct SetReply {
    bool ok = false;
    std::string kext;
    std::uint64_t previous_generation = 0;
    std::uint64_t generation = 0;
    std::uint64_t config_hash = 0;
    std::uint32_t changed = 0;
    std::vector<std::string> errors; // tunable "name": ... (nothing was changed)
    std::string error;               // only when not ok
};

// "persist": the file edited and saved, then reloaded (the ReloadReply's
// fields); `saved` with not `ok` means saved but not applied.
struct PersistReply {
    ReloadReply reload;
    bool saved = false;
    bool kept_comments = true; // false: the file was rewritten whole (its comments are gone)
};

void to_json(nlohmann::json& j, const StatusReply& r);
void from_json(const nlohmann::json& j, StatusReply& r);
void to_json(nlohmann::json& j, const ReloadReply& r);
void from_json(const nlohmann::json& j, ReloadReply& r);
void to_json(nlohmann::json& j, const ChangeRequest& r);
void from_json(const nlohmann::json& j, ChangeRequest& r);
void to_json(nlohmann::json& j, const SetReply& r);
void from_json(const nlohmann::json& j, SetReply& r);
void to_json(nlohmann::json& j, const PersistReply& r);
void from_json(const nlohmann::json& j, PersistReply& r);
const char* to_string(FileState s);
const char* to_string(Applying s);
const char* to_string(DriftState s);
const char* to_string(ValueSource s);

// Sends one request and returns the reply. ec: ENOENT/ECONNREFUSED (daemon not
// running), EACCES (not root), ETIMEDOUT, EPROTO (malformed reply).
nlohmann::json request(const std::string& socket_path, const nlohmann::json& req, std::chrono::milliseconds timeout,
                       std::error_code& ec);

} // namespace kextconf::admin
