#!/bin/bash
# Notarizes and staples the signed package:
#   KEXTCONF_NOTARY_PROFILE=kextconf installer/notarize.sh out/kextconf-0.1.0.pkg
# The profile is a notarytool keychain profile, made once with
#   xcrun notarytool store-credentials kextconf --apple-id ... --team-id ...
# Waits for Apple's verdict; on rejection prints how to read the log. Running
# it again on a stapled package submits it again (harmless) and re-staples.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=release-lib.sh
. "$(dirname "$0")/release-lib.sh"

[ $# -eq 1 ] || usage "notarize.sh PACKAGE.pkg"
pkg="$1"
need_env KEXTCONF_NOTARY_PROFILE "a notarytool keychain profile (xcrun notarytool store-credentials)"
[ -f "$pkg" ] || die "$pkg does not exist (installer/build-pkg.sh makes it)"
need_tools xcrun

out="$(xcrun notarytool submit "$pkg" --keychain-profile "$KEXTCONF_NOTARY_PROFILE" --wait 2>&1)" ||
    die "notarytool submit failed: $out"
printf '%s\n' "$out"
if ! grep -q "status: Accepted" <<<"$out"; then
    id="$(sed -n 's/^ *id: *//p' <<<"$out" | head -n 1)"
    die "Apple did not accept $pkg; read why with: xcrun notarytool log ${id:-<submission id>} --keychain-profile $KEXTCONF_NOTARY_PROFILE"
fi
xcrun stapler staple "$pkg" || die "stapler staple failed"
xcrun stapler validate "$pkg" || die "the stapled ticket does not validate"
printf 'notarize: %s is notarized and stapled\n' "$pkg"
