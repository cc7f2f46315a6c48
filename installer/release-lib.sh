#!/bin/bash
# The checks sign.sh, notarize.sh and build-pkg.sh share; each sources this
# file (it is not installed). Messages start with the script's name.

me="$(basename "$0" .sh)"

die() {
    printf '%s: error: %s\n' "$me" "$*" >&2
    exit 1
}

# usage SYNOPSIS: dies with the script's usage line.
usage() {
    die "usage: $1"
}

# need_env VAR WHAT: dies unless the environment variable VAR is set.
need_env() {
    [ -n "${!1:-}" ] || die "set $1 to $2"
}

# need_tools TOOL...: dies naming the first tool that is not on PATH.
need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not found (it comes with Xcode's command line tools)"
    done
}

# load_staged_lib STAGING: sources the staged kextconf-lib.sh, which carries
# the bundle id prefix the build was configured with (KEXTCONF_BUNDLE_PREFIX:
# KC_PREFIX, KC_PKG_ID), and sets `lib` to its path.
load_staged_lib() {
    lib="$1/Library/Application Support/kextconf/kextconf-lib.sh"
    [ -f "$lib" ] || die "$lib is missing from the staging tree"
    # shellcheck source-path=SCRIPTDIR source=scripts/kextconf-lib.sh
    . "$lib"
}
