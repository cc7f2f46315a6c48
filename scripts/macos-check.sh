#!/usr/bin/env bash
# Proves the macOS build from Linux, with foreign checkers (DESIGN.md rule 8;
# docs/macos.md says what this does and does not prove):
#  - kextconfd, kextconfctl, their libraries and KextController's sources
#    compile with the project's warnings and -Werror for x86_64 and arm64
#    macOS 11 (zig 0.11: clang, libc++, macOS SDK headers), through the real
#    CMakeLists' APPLE branches (presets macos-cross-x86_64,
#    macos-cross-arm64), and link into Mach-O executables for the right CPU
#    with LC_BUILD_VERSION minos 11.0; the unit tests too, for arm64 (the
#    test code has nothing per architecture, and this is the longest stage);
#  - the kext sources (kernel library + reference kext) compile for x86_64,
#    arm64 and arm64e (zig's clang) against XNU's headers with the flags
#    cmake/KextBundleApple.cmake gives them, and every symbol the kext leaves
#    undefined is exported by a library its Info.plist lists in
#    OSBundleLibraries, at a version that exists there;
#  - every plist shipped or generated (launchd job, kext Info.plist, the pkg
#    component plist) and the installer's Distribution XML are well-formed
#    (xmllint), the plists read by python's plistlib; the launchd job uses
#    only keys launchd.plist(5) documents, with the types it gives them.
# One line per check; exits non-zero if any fails.
#
#   scripts/macos-check.sh     (XNU_HEADERS=<dir>: the headers, default ../shared/xnu)
#
# Needs: scripts/zig.sh (fetches zig 0.11 once), llvm (llvm-nm,
# llvm-objdump), file, xmllint, python3, and ../shared/xnu laid out as
# described in its README (user/, kernel/, exports/).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
case "${1:-}" in
  -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "macos-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac

xnu=${XNU_HEADERS:-$root/../shared/xnu}
for need in user/sys/kern_event.h kernel/bsd/sys/kern_control.h exports/BSDKernel.Info.plist; do
  if [ ! -e "$xnu/$need" ]; then
    echo "macos-check: no XNU headers at $xnu ($need is missing), so the macOS build cannot be checked here."
    echo "macos-check: set XNU_HEADERS=<dir> to a directory laid out like ../shared/xnu (user/, kernel/,"
    echo "macos-check: exports/; from an xnu checkout or Kernel.framework's headers); see docs/macos.md."
    exit 2
  fi
done
XNU_HEADERS=$(cd "$xnu" && pwd)
export XNU_HEADERS
for tool in llvm-nm llvm-objdump file xmllint python3; do
  command -v "$tool" >/dev/null || { echo "macos-check: $tool not found (scripts/deps.sh installs it)"; exit 2; }
done

logs=$root/build/logs/macos-check
mkdir -p "$logs"
passed=0
failed=0
t0=$(date +%s)

# check NAME COMMAND...: runs COMMAND, prints "ok: NAME" or "FAILED: NAME"
# and the end of its output.
check() {
  local name=$1 log
  shift
  log="$logs/$(echo "$name" | tr -c 'A-Za-z0-9_.\n-' '_').log"
  if "$@" >"$log" 2>&1; then
    echo "ok: $name"
    passed=$((passed + 1))
  else
    echo "FAILED: $name"
    grep -E "error|FAILED|warning" "$log" | head -20 | sed 's/^/    /'
    [ -s "$log" ] && echo "    (full output: $log)"
    failed=$((failed + 1))
  fi
}
# report COMMAND...: a check that prints its own ok/FAILED line(s).
report() {
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

check "zig 0.11.0, tarball verified against the registry's sha512 integrity" scripts/zig.sh
zig=$(scripts/zig.sh 2>/dev/null)

# --- user space: configure, build, link, inspect ------------------------------
# macho_is FILE CPU: file(1) and llvm-objdump agree it is a Mach-O executable
# for CPU, built for macOS with minos 11.0.
macho_is() {
  local bin=$1 cpu=$2 headers
  file -b "$bin" | grep -q "^Mach-O 64-bit $cpu executable" || { file "$bin"; return 1; }
  headers=$(llvm-objdump --macho --private-headers "$bin") || return 1
  echo "$headers" | grep -A1 "cputype" | grep -qi " ${cpu} " || { echo "$headers" | head -4; return 1; }
  echo "$headers" | grep -A5 "cmd LC_BUILD_VERSION" | grep -q "platform macos" || return 1
  echo "$headers" | grep -A5 "cmd LC_BUILD_VERSION" | grep -qE "^ *minos 11\.0$" ||
    { echo "$headers" | grep -A5 "cmd LC_BUILD_VERSION"; return 1; }
}

# system_dylibs_only FILE: every library FILE loads is the system's (/usr/lib,
# /System), none from Homebrew or /usr/local, which a user's Mac may not have.
system_dylibs_only() {
  local used others
  used=$(llvm-objdump --macho --dylibs-used "$1" 2>&1) || return 1
  case "$used" in "$1:"*) ;; *) echo "$used"; return 1 ;; esac # llvm-objdump exits 0 on a non-Mach-O
  others=$(echo "$used" | tail -n +2 | grep -vE "^[[:space:]]+/(usr/lib|System)/") || true
  [ -z "$others" ] || { echo "$1 loads: $others"; return 1; }
}

kernel_dir=""
for arch in x86_64 arm64; do
  preset=macos-cross-$arch
  build=build/$preset
  if ! check "configure $preset (CMAKE_SYSTEM_NAME=Darwin, zig 0.11, macOS 11 SDK headers)" \
    cmake --preset "$preset"; then
    continue
  fi
  # Only binaries this run linked are inspected.
  bins=(bin/kextconfd bin/kextconfctl)
  [ "$arch" = arm64 ] && bins+=(tests/unit_tests)
  check "build ${bins[*]##*/} for $arch macOS (-Werror)" \
    cmake --build "$build" --target "${bins[@]##*/}" || continue
  # KextController: compiled, not linked (no Qt built for macOS here; see
  # gui/CMakeLists.txt). Present whenever Qt 6's headers are (scripts/deps.sh).
  if grep -q "kextcontroller_macos_objects" "$build/build.ninja"; then
    check "compile KextController's sources for $arch macOS against Qt 6 headers (-Werror; not linked)" \
      cmake --build "$build" --target kextcontroller_macos_objects
  else
    echo "FAILED: KextController's sources were not configured for $arch macOS (Qt 6 headers missing?)"
    failed=$((failed + 1))
  fi
  for bin in "${bins[@]}"; do
    check "$build/$bin: Mach-O $arch executable, LC_BUILD_VERSION macos minos 11.0" macho_is "$build/$bin" "$arch"
  done
  for bin in bin/kextconfd bin/kextconfctl; do
    check "$build/$bin loads only the system's libraries (/usr/lib, /System)" system_dylibs_only "$build/$bin"
  done
  kernel_dir=$build/kernel-domain
done

# --- one prefix everywhere --------------------------------------------------
# prefix_flows BUILD PREFIX: with KEXTCONF_BUNDLE_PREFIX=PREFIX, every
# generated or installed file that names a bundle id names PREFIX's, and none
# still says org.kextconf.
prefix_flows() {
  local b=$1 p=$2 f
  cmake --preset macos-cross-arm64 -B "$b" -DKEXTCONF_BUNDLE_PREFIX="$p" || return 1
  local files=("$b/launchd/$p.kextconfd.plist" "$b/config/config.json" "$b/installer/scripts/kextconf-lib.sh"
               "$b/generated/kextconf/defaults.hpp" "$b/kext/KextconfReference.Info.plist"
               "$b/kernel-domain/reference_kext.flags" "$b/installer/cmake_install.cmake")
  for f in "${files[@]}"; do
    [ -f "$f" ] || { echo "$f was not generated"; return 1; }
    grep -q "$p" "$f" || { echo "$f does not name $p"; return 1; }
  done
  if grep -n "org\.kextconf" "${files[@]}"; then
    echo "(the lines above still name org.kextconf)"
    return 1
  fi
  if ! grep -q "launchd/$p.kextconfd.plist" "$b/installer/cmake_install.cmake" ||
    ! grep -q "installer/scripts/kextconf-lib.sh" "$b/installer/cmake_install.cmake"; then
    echo "cmake --install does not install the generated launchd job and kextconf-lib.sh"
    return 1
  fi
}
check "KEXTCONF_BUNDLE_PREFIX=com.example.kc reaches the launchd job, config, installer scripts, ids, kext" \
  prefix_flows build/macos-cross-prefix com.example.kc

# --- the kext: XNU headers, KPI exports ---------------------------------------
# compile_kernel_target TARGET ARCH OUTDIR: each source of TARGET with the
# flags CMake generated for it (cmake/KextBundleApple.cmake), by zig's clang
# 16 used as a plain clang driver (`zig c++` has no arm64e; Debian's clang 14
# cannot assemble the x86_64 traps in XNU's libsa/string.h).
compile_kernel_target() {
  local target=$1 arch=$2 out=$3 dir src flags=()
  mapfile -t flags <"$kernel_dir/$target.flags"
  { read -r dir; mapfile -t srcs; } <"$kernel_dir/$target.sources"
  mkdir -p "$out"
  for src in "${srcs[@]}"; do
    [ -n "$src" ] || continue
    [[ $src == /* ]] || src=$dir/$src
    "$zig" clang -target "$arch-apple-macos" "${flags[@]}" -c "$src" -o "$out/$target.$(basename "$src").o" ||
      return 1
  done
}

plists=()
# objects_min VERSION OBJECT...: each object is built for macOS VERSION.
objects_min() {
  local want=$1 o
  shift
  for o; do
    llvm-objdump --macho --private-headers "$o" | grep -A5 "cmd LC_BUILD_VERSION" | grep -qE "^ *minos ${want//./\\.}$" ||
      { echo "$o: not built for minos $want"; return 1; }
  done
}

if [ -z "$kernel_dir" ]; then
  echo "FAILED: kext checks: no configured macOS cross-build to take the kext's flags from"
  failed=$((failed + 1))
else
  for manifest in "$kernel_dir"/*.kext; do
    kext=$(basename "$manifest" .kext)
    { read -r plist; mapfile -t parts; } <"$manifest"
    min_macos=$(grep -m1 -o -- '-mmacosx-version-min=[0-9.]*' "$kernel_dir/$kext.flags" | cut -d= -f2)
    for arch in x86_64 arm64 arm64e; do
      out=$root/build/macos-kext/$kext/$arch
      rm -rf "$out"
      ok=1
      for part in "${parts[@]}"; do
        [ -n "$part" ] || continue
        check "kext $kext: $part compiles for $arch against $XNU_HEADERS/kernel (-Wall -Wextra -Werror)" \
          compile_kernel_target "$part" "$arch" "$out" || ok=0
      done
      [ $ok -eq 1 ] || continue
      objs=("$out"/*.o)
      check "kext $kext $arch objects: LC_BUILD_VERSION macos minos $min_macos" objects_min "$min_macos" "${objs[@]}"
      report python3 scripts/macos_checks.py kext-symbols "$arch" "$plist" "$XNU_HEADERS/exports" "$min_macos" "${objs[@]}"
    done
    plists+=("$plist")
  done
fi

# --- plists and the installer's XML ------------------------------------------
# The launchd job as shipped and as generated with the prefix applied, the
# kext Info.plist(s) generated above, pkgbuild's component plist and the
# productbuild Distribution (XML, not a plist).
build=build/macos-cross-arm64
[ -d "$build/launchd" ] || build=build/macos-cross-x86_64
mapfile -t launchd_jobs < <(ls launchd/*.plist "$build"/launchd/*.plist 2>/dev/null)
[ ${#launchd_jobs[@]} -ge 2 ] ||
  { echo "FAILED: launchd jobs: expected launchd/*.plist and $build/launchd/*.plist"; failed=$((failed + 1)); }
for xml in "${launchd_jobs[@]}" "${plists[@]}" installer/*.plist installer/Distribution.xml.in; do
  check "xmllint: $xml is well-formed" xmllint --noout "$xml"
  [[ $xml == *.plist ]] && report python3 scripts/macos_checks.py plist "$xml"
done
for job in "${launchd_jobs[@]}"; do
  report python3 scripts/macos_checks.py launchd "$job"
done

echo "macos-check: $passed passed, $failed failed in $(($(date +%s) - t0))s"
[ "$failed" -eq 0 ]
