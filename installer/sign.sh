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
# shellcheck source-path=SCRIPTDIR source=release-lib.sh
. "$(dirname "$0")/release-lib.sh"

[ $# -eq 1 ] || usage "sign.sh STAGING"
staging="$1"
need_env KEXTCONF_SIGN_IDENTITY "your \"Developer ID Application: ...\" identity (security find-identity -v -p codesigning lists them)"
need_tools codesign

keychain=()
[ -z "${KEXTCONF_KEYCHAIN:-}" ] || keychain=(--keychain "$KEXTCONF_KEYCHAIN")

sign() {
    local path="$1"
    shift
    [ -e "$staging/$path" ] || die "$staging/$path is missing"
    codesign --force --timestamp ${keychain[@]+"${keychain[@]}"} --sign "$KEXTCONF_SIGN_IDENTITY" "$@" "$staging/$path" ||
        die "codesign $path failed"
    codesign --verify --strict --verbose=2 "$staging/$path" || die "the signature of $path does not verify"
}

load_staged_lib "$staging"
sign usr/local/libexec/kextconfd --options runtime --identifier "$KC_PREFIX.kextconfd"
sign usr/local/bin/kextconfctl --options runtime --identifier "$KC_PREFIX.kextconfctl"
# A kext runs in the kernel: no hardened runtime, but the kext-enabled Developer ID.
sign Library/Extensions/KextconfReference.kext
printf 'sign: signed kextconfd, kextconfctl and KextconfReference.kext with %s\n' "$KEXTCONF_SIGN_IDENTITY"
