#!/usr/bin/env bash
# Builds and runs every test: the dev build, the macOS gate
# (scripts/macos-check.sh: cross-build, link, kext symbols, plists), the
# whole suite again under ASan+UBSan, the integration (concurrency) tests
# under TSan, and the fuzz stage (corpus replay + bounded fuzzing of 4
# targets for $KEXTCONF_FUZZ_SECONDS each, default 60). Installs missing apt packages first. Reliability figures
# (fault sweeps, hostile clients, load) are printed by the tests themselves:
# see docs/reliability.md.
#
#   scripts/test.sh           everything (what CI runs)
#   scripts/test.sh --quick   dev build and tests only (the inner loop)
#
# Ends with a line "N passed, N failed" summed over all stages; the exit
# status is non-zero if any build or test failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here" || exit 1
mkdir -p build/logs
quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
esac

scripts/deps.sh || exit 1

# A compiler cache (ccache) shared by every build of every clone on this
# machine: a stage recompiles only what changed since any earlier run with
# the same flags. CCACHE_BASEDIR and NOHASHDIR make the clone's path not
# matter; COMPILERCHECK=content because a fresh clone's zig wrappers
# (cmake/toolchains) have new mtimes. KEXTCONF_CCACHE=0 builds without it
# (the cold figures in the README). The sloppiness lets it cache the
# precompiled headers (cmake/KextconfFlags.cmake) and what is compiled with
# them. An existing *_COMPILER_LAUNCHER wins.
if [ "${KEXTCONF_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null && [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ]; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR="$here" CCACHE_NOHASHDIR=1 CCACHE_COMPILERCHECK=content CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
fi

passed=0
failed=0
status=0
start_all=$(date +%s)

# stage NAME PRESET [ctest args...]
stage() {
  local name=$1 preset=$2
  shift 2
  local t0
  t0=$(date +%s)
  echo "==> [$name] configure + build (preset $preset)"
  local cfg=()
  [ "$preset" = fuzz ] && cfg=(-DKEXTCONF_FUZZ_SECONDS="${KEXTCONF_FUZZ_SECONDS:-60}")
  if ! cmake --preset "$preset" "${cfg[@]}" >"build/logs/$preset.log" 2>&1; then
    cat "build/logs/$preset.log"; echo "==> [$name] configure FAILED"; status=1; failed=$((failed + 1)); return
  fi
  # Only what the stage runs: the fuzz targets; under TSan the binaries of
  # the integration label (tests/CMakeLists.txt: integration_label_binaries;
  # they pull in kextsim, the daemon, the CLI and the kexts they drive).
  local targets=()
  [ "$preset" = fuzz ] && targets=(--target fuzz_config fuzz_codec fuzz_kext_controls fuzz_kext_faults)
  [ "$preset" = tsan ] && targets=(--target integration_label_binaries)
  if ! cmake --build "build/$preset" "${targets[@]}" >>"build/logs/$preset.log" 2>&1; then
    grep -E "error|FAILED" "build/logs/$preset.log" | head -40; echo "==> [$name] build FAILED"
    status=1; failed=$((failed + 1)); return
  fi
  echo "==> [$name] tests"
  local out
  # Two at a time (CI has 2 cores): every test has its own temporary
  # directories and kextsim root, and timing bounds allow for a busy machine.
  out=$(ctest --preset "$preset" -j2 "$@" 2>&1)
  local rc=$?
  echo "$out" | grep -vE "^ *([0-9]+/[0-9]+ Test +#[0-9]+: .* Passed|Start +[0-9]+:)" || true
  local line p f
  line=$(echo "$out" | grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" | tail -1)
  if [ -n "$line" ]; then
    f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    p=$(( $(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/') - f ))
    passed=$((passed + p)); failed=$((failed + f))
  elif [ $rc -ne 0 ]; then
    failed=$((failed + 1))
  fi
  [ $rc -ne 0 ] && status=1
  echo "==> [$name] done in $(( $(date +%s) - t0 ))s"
}

# Layout is decided by clang-format (.clang-format); a drifted file fails here.
echo "==> [format] clang-format --dry-run --Werror"
if git ls-files -z '*.cpp' '*.hpp' '*.h' '*.c' | xargs -0 clang-format --dry-run --Werror >build/logs/format.log 2>&1; then
  passed=$((passed + 1)); echo "==> [format] passed"
else
  head -40 build/logs/format.log; echo "==> [format] FAILED (run: git ls-files '*.cpp' '*.hpp' '*.h' '*.c' | xargs clang-format -i)"
  failed=$((failed + 1)); status=1
fi

stage dev dev
# The README's main command, end to end, in its one-shot form.
echo "==> [main job] scripts/run.sh --once"
if scripts/run.sh --once >build/logs/main-job.log 2>&1 && grep -q "generation 2" build/logs/main-job.log; then
  passed=$((passed + 1)); echo "==> [main job] passed"
else
  cat build/logs/main-job.log; echo "==> [main job] FAILED"; failed=$((failed + 1)); status=1
fi
if [ "$quick" -eq 0 ]; then
  # macOS: the programs cross-built and linked for x86_64 and arm64, the kext
  # against XNU's headers and KPI exports, every plist (docs/macos.md).
  echo "==> [macos] scripts/macos-check.sh"
  t0=$(date +%s)
  scripts/macos-check.sh >build/logs/macos.log 2>&1
  rc=$?
  grep -vE "^ok: " build/logs/macos.log
  line=$(grep -E "^macos-check: [0-9]+ passed, [0-9]+ failed" build/logs/macos.log | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')))
    failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
  elif [ $rc -ne 0 ]; then
    failed=$((failed + 1))
  fi
  [ $rc -ne 0 ] && status=1
  echo "==> [macos] done in $(( $(date +%s) - t0 ))s"
  stage asan asan
  stage tsan tsan -L integration
  stage fuzz fuzz
fi
echo "==> all stages took $(( $(date +%s) - start_all ))s"
echo "$passed passed, $failed failed"
exit $status
