#!/bin/bash
# Signs the staged binaries and the kext before build-pkg.sh packages them:
#   KEXTCONF_SIGN_IDENTITY="Developer ID Application: Name (TEAMID)" installer/sign.sh STAGING
# The identity must be a Developer ID Application certificate with kext signing
# enabled (for the kext). kextconfd and kextconfctl get the hardened runtime
# (--options runtime) that notarization requires (the kext does not: it is not a
# process); every signature gets a
# secure timestamp. KEXTCONF_KEYCHAIN optionally names the keychain holding the
# identity. Signing again replaces the signatures (--force), so it is idempotent.
set -euo pipefail

die() {
    printf 'sign: error: %s\n' "$*" >&2
    exit 1
}
[ $# -eq 1 ] || die "usage: sign.sh STAGING"
staging="$1"
identity="${KEXTCONF_SIGN_IDENTITY:-}"
[ -n "$identity" ] || die "set KEXTCONF_SIGN_IDENTITY to your \"Developer ID Application: ...\" identity (security find-identity -v -p codesigning lists them)"
command -v codesign >/dev/null 2>&1 || die "codesign not found (Xcode command line tools)"

keychain=()
[ -z "${KEXTCONF_KEYCHAIN:-}" ] || keychain=(--keychain "$KEXTCONF_KEYCHAIN")

sign() {
    local path="$1"
    shift
    [ -e "$staging/$path" ] || die "$staging/$path is missing"
    codesign --force --timestamp ${keychain[@]+"${keychain[@]}"} --sign "$identity" "$@" "$staging/$path" ||
        die "codesign $path failed"
    codesign --verify --strict --verbose=2 "$staging/$path" || die "the signature of $path does not verify"
}

# The bundle id prefix the staged tree was built with (KEXTCONF_BUNDLE_PREFIX).
lib="$staging/Library/Application Support/kextconf/kextconf-lib.sh"
[ -f "$lib" ] || die "$lib is missing from the staging tree"
# shellcheck source-path=SCRIPTDIR source=scripts/kextconf-lib.sh
. "$lib"
sign usr/local/libexec/kextconfd --options runtime --identifier "$KC_PREFIX.kextconfd"
sign usr/local/bin/kextconfctl --options runtime --identifier "$KC_PREFIX.kextconfctl"
# A kext runs in the kernel: no hardened runtime, but the kext-enabled Developer ID.
sign Library/Extensions/KextconfReference.kext
printf 'sign: signed kextconfd, kextconfctl and KextconfReference.kext with %s\n' "$identity"
