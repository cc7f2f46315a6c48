// The reference kext: a minimal kext built on the kextconf kernel library.
// Its tunable table below is the single source of truth for everything that
// describes these settings (describe, daemon validation, JSON Schema, docs).
#include <kextconf/kc_kext.h>
#include <mach/kmod.h>
#include <os/log.h>

namespace {

#define REFERENCE_BUNDLE_ID "org.kextconf.reference"

// Index constants for in-kernel readers; keep in the order of kTunables.
enum Tunable : uint32_t {
    kEnabled,
    kMaxClients,
    kLogLevel,
    kSampleIntervalMs,
    kLabel,
    kBlockedPorts,
    kTrustedPaths,
    kTunableCount
};

const kc_tunable_def kTunables[] = {
    KC_TUNABLE_BOOL("enabled", true, 0, "Master switch for the kext's work"),
    KC_TUNABLE_UINT64("max_clients", 64, 1, 1024, "clients", 0, "Most clients served at once"),
    KC_TUNABLE_ENUM("log_level", 2, "error|warn|info|debug", 4, 0, "Least severe message the kext logs"),
    KC_TUNABLE_INT64("sample_interval_ms", 1000, 10, 60000, "ms", 0, "Interval between statistics samples"),
    KC_TUNABLE_STRING("label", "default", 63, 0, "Free-form name shown in status output"),
    KC_TUNABLE_INT64_LIST("blocked_ports", 1, 65535, 100000, "port", 0, "TCP/UDP ports the kext refuses"),
    KC_TUNABLE_STRING_LIST("trusted_paths", 100000, 255, 0, "Paths whose processes the kext lets through"),
};
static_assert(sizeof kTunables / sizeof kTunables[0] == kTunableCount, "index enum matches the table");

const kc_kext_config kConfig = {REFERENCE_BUNDLE_ID, KEXTCONF_KEXT_VERSION, kTunables, kTunableCount};

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
    os_log(OS_LOG_DEFAULT, REFERENCE_BUNDLE_ID ": started, %u tunables", static_cast<unsigned>(kTunableCount));
    return KERN_SUCCESS;
}

extern "C" kern_return_t reference_stop(kmod_info_t *, void *)
{
    const errno_t err = kc_stop();
    if (err != 0) {
        // Clients are still connected: refuse the unload (kmutil reports it).
        os_log_error(OS_LOG_DEFAULT, REFERENCE_BUNDLE_ID ": refusing to stop: errno %d (clients connected)", err);
        return KERN_FAILURE;
    }
    os_log(OS_LOG_DEFAULT, REFERENCE_BUNDLE_ID ": stopped");
    return KERN_SUCCESS;
}

extern "C" {
KMOD_EXPLICIT_DECL(org.kextconf.reference, KEXTCONF_KEXT_VERSION, reference_start, reference_stop)
}
