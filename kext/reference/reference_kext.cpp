// The reference kext: a minimal kext built on the kextconf kernel library.
// Its tunable table below is the single source of truth for everything that
// describes these settings (describe, daemon validation, JSON Schema, docs).
//
// Its consumers of the tunables:
//  - log_level gates the kext's own log lines (reference_log below);
//  - event_rate_limit is the library's kern_event rate limit;
//  - heartbeat_interval_ms drives the library's heartbeat thread call, whose
//    beats the kext logs at debug level;
//  - every applied configuration is logged at info level, with `label`;
//  - enabled = false stops the heartbeat's work (logged at debug);
//  - blocked_ports is read by reference_port_blocked (for a packet filter);
//  - max_clients, sample_interval_ms and trusted_paths are declared for the
//    daemon and tools only; their help text says so.
#include <kextconf/kc_kext.h>
#include <mach/kmod.h>
#include <os/log.h>

// The bundle id comes from the build (KEXTCONF_BUNDLE_PREFIX, CMake), so the
// controls, the event vendor, kmod_info and Info.plist agree.
#ifndef KEXTCONF_BUNDLE_PREFIX
#error "KEXTCONF_BUNDLE_PREFIX (a string, e.g. \"org.kextconf\") must be defined by the build"
#endif
#define REFERENCE_BUNDLE_ID KEXTCONF_BUNDLE_PREFIX ".reference"

namespace {

// Index constants for in-kernel readers; each is checked against the name
// of the row it indexes below the table.
enum Tunable : uint32_t {
    kEnabled,
    kMaxClients,
    kLogLevel,
    kSampleIntervalMs,
    kEventRateLimit,
    kHeartbeatIntervalMs,
    kLabel,
    kBlockedPorts,
    kTrustedPaths,
    kTunableCount
};

// log_level values (the enum's names, in order).
enum LogLevel : uint32_t { kLogError, kLogWarn, kLogInfo, kLogDebug };

constexpr kc_tunable_def kTunables[] = {
    KC_TUNABLE_BOOL("enabled", true, 0, "Master switch: false stops the kext's heartbeat work (logged)"),
    KC_TUNABLE_UINT64("max_clients", 64, 1, 1024, "clients", 0,
                      "Most clients served at once (declared for the daemon; nothing in this kext enforces it)"),
    KC_TUNABLE_ENUM("log_level", kLogInfo, "error|warn|info|debug", 4, 0, "Least severe message the kext logs"),
    KC_TUNABLE_INT64("sample_interval_ms", 1000, 10, 60000, "ms", 0,
                     "Interval between statistics samples (declared only; this kext takes no samples)"),
    KC_TUNABLE_UINT64("event_rate_limit", 0, 0, 100000, "events/s", 0,
                      "Most kern_events posted per second, 0 = unlimited; the rest are reported as lost"),
    KC_TUNABLE_UINT64("heartbeat_interval_ms", 60000, 0, 86400000, "ms", 0,
                      "Interval between heartbeat events carrying the counters, 0 = off"),
    KC_TUNABLE_STRING("label", "default", 63, 0,
                      "Free-form name, shown in status output and the kext's commit log line"),
    KC_TUNABLE_INT64_LIST("blocked_ports", 1, 65535, 100000, "port", 0,
                          "TCP/UDP ports a packet filter would refuse (reference_port_blocked; no filter here)"),
    KC_TUNABLE_STRING_LIST("trusted_paths", 100000, 255, 0,
                           "Paths whose processes a filter would let through (stored and readable; no filter here)"),
};
static_assert(sizeof kTunables / sizeof kTunables[0] == kTunableCount, "an index constant for every row");
static_assert(kc_row_named(kTunables, kEnabled, "enabled"));
static_assert(kc_row_named(kTunables, kMaxClients, "max_clients"));
static_assert(kc_row_named(kTunables, kLogLevel, "log_level"));
static_assert(kc_row_named(kTunables, kSampleIntervalMs, "sample_interval_ms"));
static_assert(kc_row_named(kTunables, kEventRateLimit, "event_rate_limit"));
static_assert(kc_row_named(kTunables, kHeartbeatIntervalMs, "heartbeat_interval_ms"));
static_assert(kc_row_named(kTunables, kLabel, "label"));
static_assert(kc_row_named(kTunables, kBlockedPorts, "blocked_ports"));
static_assert(kc_row_named(kTunables, kTrustedPaths, "trusted_paths"));

bool log_enabled(LogLevel level)
{
    return kc_get_enum(kLogLevel) >= level;
}

// One line at `level` if log_level lets it through. Errors always pass
// (log_level's least severe choice is error); before kc_start and after
// kc_stop the library reads log_level as 0, so only errors are logged then.
#define reference_log(level, type, fmt, ...)                                                                           \
    do {                                                                                                               \
        if (log_enabled(level))                                                                                        \
            os_log_with_type(OS_LOG_DEFAULT, type, REFERENCE_BUNDLE_ID ": " fmt, ##__VA_ARGS__);                       \
    } while (0)

void on_commit(uint64_t generation, uint32_t changed)
{
    char label[64];
    kc_get_string(kLabel, label, sizeof label);
    reference_log(kLogInfo, OS_LOG_TYPE_INFO, "configuration generation %llu applied, %u tunables changed (label %s)",
                  static_cast<unsigned long long>(generation), static_cast<unsigned>(changed), label);
}

void on_heartbeat(uint64_t generation)
{
    if (!kc_get_bool(kEnabled)) {
        reference_log(kLogDebug, OS_LOG_TYPE_DEBUG, "heartbeat at generation %llu: disabled, no work",
                      static_cast<unsigned long long>(generation));
        return;
    }
    reference_log(kLogDebug, OS_LOG_TYPE_DEBUG, "heartbeat at generation %llu",
                  static_cast<unsigned long long>(generation));
}

const kc_kext_config kConfig = KC_KEXT_CONFIG(REFERENCE_BUNDLE_ID, KEXTCONF_KEXT_VERSION, kTunables, "event_rate_limit",
                                              "heartbeat_interval_ms", "kextconf_reference", on_commit, on_heartbeat);

} // namespace

// The consumer of blocked_ports: what a packet filter would call per packet.
// O(log n) against the current list, safe against a concurrent commit.
extern "C" bool reference_port_blocked(uint16_t port)
{
    return kc_list_contains_int64(kBlockedPorts, port);
}

extern "C" kern_return_t reference_start(kmod_info_t *, void *)
{
    const errno_t err = kc_start(&kConfig);
    if (err != 0) {
        os_log_error(OS_LOG_DEFAULT, REFERENCE_BUNDLE_ID ": start failed: errno %d", err);
        return KERN_FAILURE;
    }
    reference_log(kLogInfo, OS_LOG_TYPE_DEFAULT, "started, %u tunables", static_cast<unsigned>(kTunableCount));
    return KERN_SUCCESS;
}

extern "C" kern_return_t reference_stop(kmod_info_t *, void *)
{
    // Read before kc_stop: afterwards log_level reads as 0 (error).
    const bool say_stopped = log_enabled(kLogInfo);
    const errno_t err = kc_stop();
    if (err != 0) {
        // A client is connected, a socket is still bound to a control, or a
        // list view is held: refuse the unload (kmutil reports it).
        os_log_error(OS_LOG_DEFAULT, REFERENCE_BUNDLE_ID ": refusing to stop: errno %d (control still in use)", err);
        return KERN_FAILURE;
    }
    if (say_stopped)
        os_log(OS_LOG_DEFAULT, REFERENCE_BUNDLE_ID ": stopped");
    return KERN_SUCCESS;
}

// What KMOD_EXPLICIT_DECL would declare, written out because its name
// argument is stringized as written (#name), so it cannot come from the
// build's KEXTCONF_BUNDLE_PREFIX. Xcode generates the same for real kexts.
extern "C" {
__attribute__((visibility("default"))) kmod_info_t KMOD_INFO_NAME = {
    0, KMOD_INFO_VERSION, -1U,           {REFERENCE_BUNDLE_ID}, {KEXTCONF_KEXT_VERSION}, -1, 0, 0, 0,
    0, reference_start,   reference_stop};
}
