#!/bin/bash
# Installer tests: the real pkg scripts, uninstaller, build/sign/notarize
# scripts and `cmake --install` layout, run against a staging root with
# recording stand-ins (./standin) for the macOS tools. One case per ctest test:
#   installer_test.sh CASE     (KEXTCONF_SOURCE_DIR, KEXTCONF_BUILD_DIR, CMAKE set by ctest)
set -euo pipefail

src="${KEXTCONF_SOURCE_DIR:?}"
build="${KEXTCONF_BUILD_DIR:?}"
cmake_bin="${CMAKE:-cmake}"
here="$src/tests/installer"
work="$(mktemp -d /tmp/kci.XXXXXX)"
trap 'rm -rf "$work"' EXIT

export KEXTCONF_STANDIN_LOG="$work/calls.log"
export KEXTCONF_STANDIN_STATE="$work/standin-state"
export KEXTCONF_ROOT="$work/root"
mkdir -p "$work/bin" "$KEXTCONF_ROOT"
: >"$KEXTCONF_STANDIN_LOG"
for tool in launchctl kmutil pkgbuild productbuild codesign xcrun pkgutil stapler; do
    ln -s "$here/standin" "$work/bin/$tool"
done
export PATH="$work/bin:$PATH"

failures=0
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failures=$((failures + 1))
}
expect_file() { [ -e "$1" ] || fail "expected $1 to exist"; }
expect_absent() { [ ! -e "$1" ] || fail "expected $1 to be gone"; }
expect_mode() {
    local mode
    mode="$(stat -c %a "$1" 2>/dev/null || echo missing)"
    [ "$mode" = "$2" ] || fail "$1 has mode $mode, expected $2"
}
expect_log() { grep -qxF -- "$1" "$KEXTCONF_STANDIN_LOG" || fail "no call \"$1\" in: $(cat "$KEXTCONF_STANDIN_LOG")"; }
expect_no_log() { ! grep -q -- "$1" "$KEXTCONF_STANDIN_LOG" || fail "unexpected call matching \"$1\""; }
# Line number of the first log line starting with $1 (0 if none).
log_line() { grep -n -m1 -F -- "$1" "$KEXTCONF_STANDIN_LOG" | cut -d: -f1 || true; }
expect_before() {
    local a b
    a="$(log_line "$1")" b="$(log_line "$2")"
    if [ -z "$a" ] || [ -z "$b" ] || [ "$a" -ge "$b" ]; then
        fail "expected \"$1\" before \"$2\" in: $(cat "$KEXTCONF_STANDIN_LOG")"
    fi
}
expect_last() {
    [[ "$(tail -n 1 "$KEXTCONF_STANDIN_LOG")" == "$1"* ]] || fail "expected the last call to be \"$1\", log: $(cat "$KEXTCONF_STANDIN_LOG")"
}
# Runs a command that must succeed; its output goes to $work/out.
must() { "$@" >"$work/out" 2>&1 || fail "$* exited $?: $(cat "$work/out")"; }

plist="$KEXTCONF_ROOT/Library/LaunchDaemons/org.kextconf.kextconfd.plist"
kext="$KEXTCONF_ROOT/Library/Extensions/KextconfReference.kext"
support="$KEXTCONF_ROOT/Library/Application Support/kextconf"
state="$KEXTCONF_ROOT/var/db/kextconf"
staged="$KEXTCONF_ROOT/Library/StagedExtensions/Library/Extensions/KextconfReference.kext"

stage() {
    DESTDIR="$work/stage" "$cmake_bin" --install "$build" --prefix / >"$work/install.log" 2>&1 ||
        { cat "$work/install.log" >&2; exit 1; }
}

# What macOS Installer does with the package: preinstall, the payload, the
# receipt, postinstall (arguments: package, destination, target volume).
install_pkg() {
    [ -d "$work/stage" ] || stage
    "$src/installer/scripts/preinstall" "$work/kextconf.pkg" / / || return $?
    echo "installer payload" >>"$KEXTCONF_STANDIN_LOG"
    cp -R "$work/stage/." "$KEXTCONF_ROOT/"
    touch "$KEXTCONF_STANDIN_STATE/receipts/org.kextconf.pkg"
    "$src/installer/scripts/postinstall" "$work/kextconf.pkg" / /
}

uninstall() { "$support/uninstall.sh" "$@"; }

case_shellcheck() {
    command -v shellcheck >/dev/null || { fail "shellcheck is not installed (apt-get install shellcheck)"; return; }
    (cd "$src" && shellcheck -x installer/*.sh installer/scripts/preinstall installer/scripts/postinstall \
        installer/scripts/kextconf-lib.sh tests/installer/standin tests/installer/installer_test.sh) ||
        fail "shellcheck found problems"
}

case_layout() {
    stage
    local s="$work/stage"
    expect_mode "$s/usr/local/bin/kextconfctl" 755
    expect_mode "$s/usr/local/libexec/kextconfd" 755
    expect_mode "$s/Library/LaunchDaemons/org.kextconf.kextconfd.plist" 644
    expect_mode "$s/Library/Application Support/kextconf/config.json.default" 644
    expect_mode "$s/Library/Application Support/kextconf/uninstall.sh" 755
    expect_mode "$s/Library/Application Support/kextconf/operations.md" 644
    expect_mode "$s/Library/Extensions/KextconfReference.kext" 755
    expect_mode "$s/Library/Extensions/KextconfReference.kext/Contents/Info.plist" 644
    expect_file "$s/Library/Extensions/KextconfReference.kext/Contents/MacOS/KextconfReference"
    # Never shipped: the admin's file and the daemon's state.
    expect_absent "$s/Library/Application Support/kextconf/config.json"
    expect_absent "$s/var"
    local writable
    writable="$(find "$s" -perm /022 -not -type l)"
    [ -z "$writable" ] || fail "group/world-writable files in the payload: $writable"
    cmp -s "$s/Library/Application Support/kextconf/config.json.default" "$src/config/config.json" ||
        fail "config.json.default differs from config/config.json"
}

case_fresh_install() {
    must install_pkg
    expect_file "$kext/Contents/Info.plist"
    expect_file "$KEXTCONF_ROOT/usr/local/libexec/kextconfd"
    expect_file "$KEXTCONF_ROOT/usr/local/bin/kextconfctl"
    expect_file "$plist"
    cmp -s "$support/config.json" "$src/config/config.json" || fail "config.json is not the default"
    expect_mode "$support/config.json" 644
    expect_mode "$state" 700
    expect_log "launchctl bootstrap system $plist"
    expect_before "installer payload" "launchctl bootstrap"
    expect_last "kmutil load -p $kext"
    expect_no_log "launchctl bootout" # nothing was running
    expect_file "$staged"
}

case_upgrade() {
    must install_pkg
    printf '// the admin edited this\n{"kext": "org.kextconf.reference", "tunables": {}}\n' >"$support/config.json"
    cp "$support/config.json" "$work/edited"
    : >"$KEXTCONF_STANDIN_LOG"
    must install_pkg
    cmp -s "$support/config.json" "$work/edited" || fail "the upgrade replaced the admin's config.json"
    grep -q "keeping the existing" "$work/out" || fail "postinstall did not say it kept the config: $(cat "$work/out")"
    # The old daemon is stopped before its binary is replaced; the kext loads last.
    expect_before "launchctl bootout system/org.kextconf.kextconfd" "installer payload"
    expect_before "kmutil unload -b org.kextconf.reference" "installer payload"
    expect_before "installer payload" "launchctl bootstrap system"
    expect_last "kmutil load -p $kext"
}

case_kext_in_use() {
    must install_pkg
    : >"$KEXTCONF_STANDIN_LOG"
    # macOS 11+: a kext in use cannot be unloaded; the upgrade goes on.
    KEXTCONF_STANDIN_FAIL="kmutil unload" must install_pkg
    grep -q "stays loaded until you restart" "$work/out" || fail "no restart notice: $(cat "$work/out")"
    expect_last "kmutil load -p $kext"
}

case_idempotent() {
    must install_pkg
    must "$src/installer/scripts/postinstall" "$work/kextconf.pkg" / /
    must "$src/installer/scripts/preinstall" "$work/kextconf.pkg" / /
    must "$src/installer/scripts/preinstall" "$work/kextconf.pkg" / /
    must install_pkg
    must uninstall
    # The first run removed the installed copy; run the source tree's.
    must "$src/installer/uninstall.sh"
    must "$src/installer/uninstall.sh" --purge
    expect_absent "$support"
}

case_uninstall() {
    must install_pkg
    : >"$KEXTCONF_STANDIN_LOG"
    must uninstall
    expect_log "launchctl bootout system/org.kextconf.kextconfd"
    expect_log "kmutil unload -b org.kextconf.reference"
    expect_log "pkgutil --forget org.kextconf.pkg"
    expect_before "launchctl bootout" "kmutil unload"
    for f in "$plist" "$kext" "$staged" "$KEXTCONF_ROOT/usr/local/libexec/kextconfd" \
        "$KEXTCONF_ROOT/usr/local/bin/kextconfctl" "$support/config.json.default" "$support/operations.md"; do
        expect_absent "$f"
    done
    expect_file "$support/config.json"
    expect_file "$state"
    grep -q "kept .*config.json" "$work/out" || fail "uninstall did not say it kept the config: $(cat "$work/out")"
    # What was kept can go later: the documented `uninstall.sh --purge` is still there.
    grep -qF "kept the uninstaller for that: sudo \"$support/uninstall.sh\" --purge" "$work/out" ||
        fail "uninstall did not say how to purge later: $(cat "$work/out")"
    expect_file "$support/uninstall.sh"
    expect_file "$support/kextconf-lib.sh"
    # Again: nothing left to do, and it says so without failing.
    : >"$KEXTCONF_STANDIN_LOG"
    must uninstall
    expect_no_log "launchctl bootout"
    expect_no_log "pkgutil --forget"
    must uninstall --purge
    expect_absent "$support"
    expect_absent "$state"
}

case_uninstall_nothing_kept() {
    must install_pkg
    rm -rf "$support/config.json" "$state"
    must uninstall
    # Nothing for --purge to remove later: the uninstaller goes too.
    expect_absent "$support"
}

case_purge() {
    must install_pkg
    must uninstall --purge
    expect_absent "$support"
    expect_absent "$state"
    expect_absent "$kext"
    expect_absent "$staged"
    expect_absent "$plist"
}

case_unload_refused() {
    must install_pkg
    KEXTCONF_STANDIN_FAIL="kmutil unload" must uninstall
    grep -q "restart the Mac" "$work/out" || fail "no restart notice: $(cat "$work/out")"
    expect_absent "$kext"
}

case_approval_pending() {
    # First install: macOS refuses the kext until the user allows it.
    KEXTCONF_STANDIN_FAIL="kmutil load" must install_pkg
    grep -q "Privacy & Security" "$work/out" || fail "no approval instructions: $(cat "$work/out")"
    grep -q "Reduced Security" "$work/out" || fail "no Apple silicon instructions: $(cat "$work/out")"
    # The guide it points to is installed.
    grep -qF "See $support/operations.md (\"First approval\")." "$work/out" ||
        fail "no installed guide named: $(cat "$work/out")"
    expect_file "$support/operations.md"
    grep -q "^## First approval" "$support/operations.md" || fail "operations.md has no First approval section"
}

case_first_error() {
    stage
    cp -R "$work/stage/." "$KEXTCONF_ROOT/"
    # launchctl refuses: postinstall stops there, says what failed, and never loads the kext.
    local status=0
    KEXTCONF_STANDIN_FAIL="launchctl bootstrap" "$src/installer/scripts/postinstall" x / / >"$work/out" 2>&1 ||
        status=$?
    [ "$status" -eq 1 ] || fail "postinstall exited $status after launchctl failed"
    grep -q "error: starting kextconfd failed (exit 71)" "$work/out" || fail "unclear message: $(cat "$work/out")"
    expect_no_log "kmutil load"
    # A payload without the kext: the message names the missing file.
    rm -rf "$kext"
    status=0
    "$src/installer/scripts/postinstall" x / / >"$work/out" 2>&1 || status=$?
    [ "$status" -eq 1 ] || fail "postinstall exited $status without the kext"
    grep -q "KextconfReference.kext is missing" "$work/out" || fail "unclear message: $(cat "$work/out")"
    # The uninstaller refuses unknown arguments.
    status=0
    "$src/installer/uninstall.sh" --purg >"$work/out" 2>&1 || status=$?
    [ "$status" -eq 2 ] || fail "uninstall.sh --purg exited $status"
}

case_build_pkg() {
    stage
    must "$src/installer/build-pkg.sh" "$work/stage" "$work/out-pkg" 1.2.3
    expect_file "$work/out-pkg/kextconf-1.2.3.pkg"
    expect_before "pkgbuild --root $work/stage" "productbuild --distribution"
    # A copy of installer/scripts with the staged (prefix-configured) kextconf-lib.sh.
    grep -qE -- "--scripts [^ ]+/scripts " "$KEXTCONF_STANDIN_LOG" || fail "pkgbuild got no scripts"
    grep -q -- "--identifier org.kextconf.pkg --version 1.2.3" "$KEXTCONF_STANDIN_LOG" || fail "wrong identifier/version"
    must "$src/installer/build-pkg.sh" "$work/stage" "$work/out-pkg" 1.2.3 # again: fine
    # A payload with a config.json would overwrite the admin's on upgrade.
    touch "$work/stage/Library/Application Support/kextconf/config.json"
    if "$src/installer/build-pkg.sh" "$work/stage" "$work/out-pkg" >"$work/out" 2>&1; then
        fail "build-pkg.sh accepted a payload with config.json"
    fi
    grep -q "ship only config.json.default" "$work/out" || fail "unclear message: $(cat "$work/out")"
}

case_sign_notarize() {
    stage
    if "$src/installer/sign.sh" "$work/stage" >"$work/out" 2>&1; then fail "sign.sh ran without an identity"; fi
    grep -q "set KEXTCONF_SIGN_IDENTITY" "$work/out" || fail "unclear message: $(cat "$work/out")"
    KEXTCONF_SIGN_IDENTITY="Developer ID Application: Test (TEAM)" must "$src/installer/sign.sh" "$work/stage"
    grep -q "^codesign --force --timestamp --sign Developer ID Application: Test (TEAM) --options runtime --identifier org.kextconf.kextconfd $work/stage/usr/local/libexec/kextconfd$" \
        "$KEXTCONF_STANDIN_LOG" || fail "kextconfd not signed with the hardened runtime: $(cat "$KEXTCONF_STANDIN_LOG")"
    grep -q "^codesign .*--options runtime .*kextconfctl$" "$KEXTCONF_STANDIN_LOG" || fail "kextconfctl not signed"
    grep -q "^codesign --force .*KextconfReference.kext$" "$KEXTCONF_STANDIN_LOG" || fail "kext not signed"
    touch "$work/kextconf.pkg"
    if "$src/installer/notarize.sh" "$work/kextconf.pkg" >"$work/out" 2>&1; then fail "notarize.sh ran without a profile"; fi
    : >"$KEXTCONF_STANDIN_LOG"
    KEXTCONF_NOTARY_PROFILE=kc must "$src/installer/notarize.sh" "$work/kextconf.pkg"
    expect_log "xcrun notarytool submit $work/kextconf.pkg --keychain-profile kc --wait"
    expect_before "xcrun notarytool submit" "xcrun stapler staple $work/kextconf.pkg"
    : >"$KEXTCONF_STANDIN_LOG"
    if KEXTCONF_NOTARY_PROFILE=kc KEXTCONF_STANDIN_NOTARY_STATUS=Invalid "$src/installer/notarize.sh" \
        "$work/kextconf.pkg" >"$work/out" 2>&1; then
        fail "notarize.sh accepted a rejection"
    fi
    grep -q "xcrun notarytool log 2f6e7c1a-0000" "$work/out" || fail "no log hint: $(cat "$work/out")"
    expect_no_log "stapler"
}

if [ $# -ne 1 ] || ! declare -F "case_$1" >/dev/null; then
    echo "usage: installer_test.sh CASE" >&2
    exit 2
fi
"case_$1"
if [ "$failures" -ne 0 ]; then
    printf '%s: %d failure(s)\n' "$1" "$failures" >&2
    exit 1
fi
printf '%s: ok\n' "$1"
