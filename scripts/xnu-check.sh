#!/usr/bin/env bash
# Compiles the kext sources (kernel library + reference kext) against XNU's
# real headers for every macOS kernel target, syntax only. It proves the
# kextsim headers match the real KPI and that the kext builds for Intel and
# Apple silicon. Needs clang and a checkout of apple-oss-distributions/xnu.
#
#   scripts/xnu-check.sh /path/to/xnu
set -euo pipefail

usage() { echo "usage: $0 XNU_SOURCE_DIR   (a checkout of apple-oss-distributions/xnu)" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
xnu=$1
[[ -f $xnu/bsd/sys/kern_control.h ]] || { echo "error: $xnu does not look like an xnu checkout (no bsd/sys/kern_control.h)" >&2; exit 2; }
command -v clang >/dev/null || { echo "error: clang not found (apt-get install clang)" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
shims=$(mktemp -d)
trap 'rm -rf "$shims"' EXIT
# Kernel.framework ships TargetConditionals.h; xnu's tree does not.
cat >"$shims/TargetConditionals.h" <<'H'
#pragma once
#define TARGET_OS_OSX 1
#define TARGET_OS_MAC 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_TV 0
#define TARGET_OS_BRIDGE 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_OS_DRIVERKIT 0
#define TARGET_OS_XR 0
#define TARGET_OS_VISION 0
#define TARGET_OS_EMBEDDED 0
H

mapfile -t sources < <(cd "$root" && ls kext/lib/*.cpp kext/reference/*.cpp)
status=0
for target in x86_64-apple-macos12 arm64-apple-macos12 arm64e-apple-macos12; do
    if (cd "$root" && clang -target "$target" -mkernel -nostdinc -nostdinc++ -DKERNEL -DXNU_PLATFORM_MacOSX \
        -fsyntax-only -x c++ -std=c++17 -fno-exceptions -fno-rtti -Wall -Wextra -Werror \
        -DKEXTCONF_KEXT_VERSION='"0.0.0"' -DKEXTCONF_BUNDLE_PREFIX='"org.kextconf"' \
        -I proto/include -I kext/lib/include -I kext/lib -I "$shims" \
        -I "$xnu/bsd" -I "$xnu/osfmk" -I "$xnu/osfmk/libsa" -I "$xnu/libkern" -I "$xnu/EXTERNAL_HEADERS" \
        "${sources[@]}"); then
        echo "ok: $target (${#sources[@]} files)"
    else
        echo "FAILED: $target" >&2
        status=1
    fi
done
exit $status
