# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this file
# Shared by the package scripts (preinstall, postinstall) and uninstall.sh:
# the installed layout, logging that names the fix, and the steps that touch
# launchd and the kext. Sourced, never run. Every step is idempotent.
#
# KEXTCONF_ROOT (default /) is prepended to every installed path, so tests can
# run the scripts against a staging tree with stand-ins for launchctl, kmutil
# and pkgutil on PATH. The paths match cmake/KextconfInstall.cmake.

# The bundle id prefix: the installed copy of this file has
# KEXTCONF_BUNDLE_PREFIX here (the top-level CMakeLists.txt writes it), and
# build-pkg.sh and sign.sh read the ids from that copy in the staging tree.
KC_PREFIX="org.kextconf"
KC_LABEL="$KC_PREFIX.kextconfd"
KC_KEXT_ID="$KC_PREFIX.reference"
KC_PKG_ID="$KC_PREFIX.pkg"
KC_KEXT_NAME="KextconfReference.kext"

# kc_init ROOT: sets the absolute paths under ROOT.
kc_init() {
    local root="${1:-/}"
    root="${root%/}"
    KC_KEXT="$root/Library/Extensions/$KC_KEXT_NAME"
    KC_STAGED_KEXT="$root/Library/StagedExtensions/Library/Extensions/$KC_KEXT_NAME"
    KC_DAEMON="$root/usr/local/libexec/kextconfd"
    KC_CTL="$root/usr/local/bin/kextconfctl"
    KC_PLIST="$root/Library/LaunchDaemons/$KC_LABEL.plist"
    KC_SUPPORT="$root/Library/Application Support/kextconf"
    KC_CONFIG="$KC_SUPPORT/config.json"
    KC_CONFIG_DEFAULT="$KC_SUPPORT/config.json.default"
    KC_DOCS="$KC_SUPPORT/operations.md" # docs/operations.md, for the messages below
    KC_STATE="$root/var/db/kextconf"
    KC_LOG="$root/Library/Logs/kextconfd.log"
}

kc_say() { printf 'kextconf: %s\n' "$*"; }
kc_warn() { printf 'kextconf: warning: %s\n' "$*" >&2; }
kc_die() {
    printf 'kextconf: error: %s\n' "$*" >&2
    exit 1
}

# kc_run WHAT CMD...: runs CMD; on failure stops with WHAT and CMD's status.
kc_run() {
    local what="$1"
    shift
    local status=0
    "$@" || status=$?
    [ "$status" -eq 0 ] || kc_die "$what failed (exit $status): $*"
}

kc_need_tool() {
    command -v "$1" >/dev/null 2>&1 || kc_die "$1 not found on PATH; $2"
}

kc_daemon_loaded() { launchctl print "system/$KC_LABEL" >/dev/null 2>&1; }

# Stops the daemon and removes its job from launchd (until the next bootstrap).
kc_bootout() {
    if kc_daemon_loaded; then
        kc_say "stopping $KC_LABEL (launchctl bootout)"
        kc_run "stopping kextconfd" launchctl bootout "system/$KC_LABEL"
    fi
}

kc_kext_loaded() {
    local out
    out="$(kmutil showloaded --bundle-identifier "$KC_KEXT_ID" 2>/dev/null)" || return 1
    [[ "$out" == *"$KC_KEXT_ID"* ]]
}

# Unloads the kext if it is loaded. Not fatal: on macOS 11+ a kext that is in
# use stays loaded until the next restart. Returns 1 when it stays.
kc_unload_kext() {
    kc_kext_loaded || return 0
    kc_say "unloading $KC_KEXT_ID (kmutil unload)"
    if ! kmutil unload -b "$KC_KEXT_ID"; then
        kc_warn "$KC_KEXT_ID stays loaded until you restart the Mac (macOS keeps a kext that is in use)"
        return 1
    fi
}
