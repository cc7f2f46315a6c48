#!/bin/bash
# Removes kextconf: stops kextconfd, unloads the kext, deletes every installed
# file (the staged copy of the kext too) and the package receipt. Keeps the
# configuration and the state directory unless --purge, and then keeps itself
# too, so that `uninstall.sh --purge` can remove them later. Safe to run again.
#
# Installed as /Library/Application Support/kextconf/uninstall.sh:
#   sudo "/Library/Application Support/kextconf/uninstall.sh" [--purge]
# KEXTCONF_ROOT (default /) points it at another root (tests).
set -euo pipefail

usage() {
    cat <<USAGE
usage: uninstall.sh [--purge]
  Stops kextconfd, unloads the kext and removes kextconf's files and package receipt.
  --purge  also remove the configuration (/Library/Application Support/kextconf) and
           kextconfd's state (/var/db/kextconf) and log
USAGE
}

purge=0
for arg in "$@"; do
    case "$arg" in
    --purge) purge=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        printf 'kextconf: error: unknown argument %s\n' "$arg" >&2
        exit 2
        ;;
    esac
done

here="$(cd "$(dirname "$0")" && pwd)"
lib="$here/kextconf-lib.sh"
[ -f "$lib" ] || lib="$here/scripts/kextconf-lib.sh" # run from the source tree
# shellcheck source-path=SCRIPTDIR source=scripts/kextconf-lib.sh
. "$lib"
kc_init "${KEXTCONF_ROOT:-/}"

if [ -z "${KEXTCONF_ROOT:-}" ] && [ "$(id -u)" -ne 0 ]; then
    kc_die "run as root: sudo \"$0\" $*"
fi

kc_bootout
reboot_needed=0
kc_unload_kext || reboot_needed=1

remove() {
    local path
    for path in "$@"; do
        if [ -e "$path" ] || [ -L "$path" ]; then
            kc_say "removing $path"
            kc_run "removing $path" rm -rf -- "$path"
        fi
    done
}

remove "$KC_PLIST" "$KC_DAEMON" "$KC_CTL" "$KC_KEXT" "$KC_CONFIG_DEFAULT" "$KC_DOCS"
# macOS keeps a validated copy of every third-party kext under
# /Library/StagedExtensions (SIP-protected): kmutil clear-staging removes
# copies whose original is gone.
if [ -e "$KC_STAGED_KEXT" ]; then
    kc_say "clearing the staged copy of the kext (kmutil clear-staging)"
    kmutil clear-staging || kc_warn "kmutil clear-staging failed; the staged copy goes at the next restart"
    if [ -e "$KC_STAGED_KEXT" ]; then
        rm -rf -- "$KC_STAGED_KEXT" 2>/dev/null || kc_warn "$KC_STAGED_KEXT stays until the next restart"
    fi
fi

if pkgutil --pkg-info "$KC_PKG_ID" >/dev/null 2>&1; then
    kc_say "forgetting the package receipt $KC_PKG_ID"
    kc_run "forgetting the package receipt" pkgutil --forget "$KC_PKG_ID"
fi

if [ "$purge" -eq 1 ]; then
    # Bash has read this script's file open: removing it here is safe.
    remove "$KC_SUPPORT" "$KC_STATE" "$KC_LOG"
else
    kept=0
    for path in "$KC_CONFIG" "$KC_STATE" "$KC_LOG"; do
        if [ -e "$path" ]; then
            kc_say "kept $path (remove it with --purge)"
            kept=1
        fi
    done
    if [ "$kept" -eq 1 ]; then
        kc_say "kept the uninstaller for that: sudo \"$KC_SUPPORT/uninstall.sh\" --purge"
    else
        remove "$KC_SUPPORT/uninstall.sh" "$KC_SUPPORT/kextconf-lib.sh"
        rmdir -- "$KC_SUPPORT" 2>/dev/null || true
    fi
fi

if [ "$reboot_needed" -eq 1 ]; then
    kc_say "done; restart the Mac to take $KC_KEXT_ID out of the kernel"
else
    kc_say "done"
fi
exit 0
