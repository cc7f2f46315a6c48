#!/bin/bash
# Builds the kextconf installer package from a staged install tree:
#   cmake --install build/rel --prefix / (with DESTDIR=STAGING), installer/sign.sh STAGING, then
#   installer/build-pkg.sh STAGING OUTDIR [VERSION]
# pkgbuild makes the component package (payload + scripts/), productbuild the
# product with Distribution.xml and the welcome/conclusion texts. With
# KEXTCONF_INSTALLER_IDENTITY ("Developer ID Installer: ...") the product is signed.
# Writes OUTDIR/kextconf-VERSION.pkg. Safe to run again (it replaces its outputs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=release-lib.sh
. "$here/release-lib.sh"

[ $# -ge 2 ] || usage "build-pkg.sh STAGING OUTDIR [VERSION]"
staging="$1"
outdir="$2"
version="${3:-0.1.0}"
need_tools pkgbuild productbuild
[ -d "$staging" ] || die "staging directory $staging does not exist (cmake --install ... with DESTDIR=$staging)"
for f in "Library/Extensions/KextconfReference.kext" "usr/local/libexec/kextconfd" "usr/local/bin/kextconfctl" \
    "Library/LaunchDaemons/org.kextconf.kextconfd.plist" "Library/Application Support/kextconf/config.json.default"; do
    [ -e "$staging/$f" ] || die "$staging/$f is missing from the staging tree"
done
# The admin's configuration and kextconfd's state belong to the machine: a
# payload holding them would overwrite them on upgrade.
[ ! -e "$staging/Library/Application Support/kextconf/config.json" ] ||
    die "$staging holds config.json; ship only config.json.default (postinstall copies it when absent)"
[ ! -e "$staging/var" ] || die "$staging holds var/; the state directory is created by postinstall"

# The package scripts use the staged kextconf-lib.sh too.
load_staged_lib "$staging"

mkdir -p "$outdir"
work="$(mktemp -d "${TMPDIR:-/tmp}/kextconf-pkg.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -R "$here/scripts" "$work/scripts"
cp "$lib" "$work/scripts/kextconf-lib.sh"

sed -e "s/@VERSION@/$version/g" -e "s/@KEXTCONF_BUNDLE_PREFIX@/$KC_PREFIX/g" "$here/Distribution.xml.in" \
    >"$work/Distribution.xml"

pkgbuild --root "$staging" --component-plist "$here/component.plist" --scripts "$work/scripts" \
    --identifier "$KC_PKG_ID" --version "$version" --install-location / --ownership recommended \
    "$work/kextconf-component.pkg" || die "pkgbuild failed"

sign=()
if [ -n "${KEXTCONF_INSTALLER_IDENTITY:-}" ]; then
    sign=(--sign "$KEXTCONF_INSTALLER_IDENTITY")
else
    printf 'build-pkg: note: KEXTCONF_INSTALLER_IDENTITY is not set; the package is unsigned (not notarizable)\n' >&2
fi
productbuild --distribution "$work/Distribution.xml" --resources "$here/resources" --package-path "$work" \
    ${sign[@]+"${sign[@]}"} "$outdir/kextconf-$version.pkg" || die "productbuild failed"
printf 'build-pkg: wrote %s\n' "$outdir/kextconf-$version.pkg"
