#!/usr/bin/env bash
# The main job: boots kextsim hosting the reference kext, starts kextconfd on
# the default config/config.json, shows the applied state through
# kextconfctl, and keeps running until Ctrl-C, then shuts everything down.
#
#   scripts/run.sh [--once] [--config FILE]
#     --once    show the applied state and shut down instead of waiting
#     --config  configuration file to apply (default: config/config.json)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
once=0
config="$here/config/config.json"
while [ $# -gt 0 ]; do
  case "$1" in
    --once) once=1 ;;
    --config) config=$(realpath "$2"); shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

"$here/scripts/deps.sh"
build="$here/build/dev"
echo "==> building (cmake --preset dev)" >&2
cmake --preset dev -S "$here" >/dev/null
cmake --build "$build" --target kextsim kextconfd kextconfctl reference_kext

bin="$build/bin"
bundle="$build/kexts/KextconfReference.kext"
KEXTSIM_ROOT=$(mktemp -d /tmp/kextconf-run.XXXXXX)
export KEXTSIM_ROOT
logs="$KEXTSIM_ROOT/logs"
mkdir -p "$logs"
sim_pid=""
daemon_pid=""

shutdown() {
  trap - INT TERM EXIT
  echo "==> shutting down" >&2
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null; wait "$daemon_pid" || true; fi
  if [ -n "$sim_pid" ]; then kill -TERM "$sim_pid" 2>/dev/null; wait "$sim_pid" || true; fi
  rm -rf "$KEXTSIM_ROOT"
  echo "==> stopped" >&2
}
trap shutdown INT TERM EXIT

echo "==> kextsim boot --load $bundle (runtime root $KEXTSIM_ROOT)" >&2
"$bin/kextsim" boot --load "$bundle" 2> >(tee "$logs/kextsim.log" >&2) &
sim_pid=$!
for _ in $(seq 100); do
  "$bin/kextsim" showloaded 2>/dev/null | grep -q org.kextconf.reference && break
  sleep 0.1
done
"$bin/kextsim" showloaded | grep -q org.kextconf.reference || { echo "run.sh: the kext did not load" >&2; exit 1; }

echo "==> kextconfd --config $config" >&2
"$bin/kextconfd" --config "$config" --state-dir "$KEXTSIM_ROOT/state" 2> >(tee "$logs/kextconfd.log" >&2) &
daemon_pid=$!
for _ in $(seq 100); do
  grep -qE "applied|already matches|error" "$logs/kextconfd.log" 2>/dev/null && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done

echo "==> kextconfctl status" >&2
"$bin/kextconfctl" status
if [ "$once" -eq 1 ]; then
  exit 0
fi
echo "==> running; try: KEXTSIM_ROOT=$KEXTSIM_ROOT $bin/kextconfctl status   (Ctrl-C stops)" >&2
wait "$daemon_pid"
