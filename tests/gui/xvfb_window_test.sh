#!/usr/bin/env bash
# KextController in a real X window (Xvfb): the real binary against a real
# kextsim host and kextconfd, driven with xdotool like a user at the
# keyboard, with screenshots saved for docs/gui.md.
#
#   xvfb_window_test.sh BUILD_DIR OUT_DIR
#
# Checks: the window maps with its title; Ctrl+R (Reload) reaches kextconfd
# (its log says so); Ctrl+Q quits with status 0. Screenshots:
# OUT_DIR/kextcontroller.png (the window) and kextcontroller-reloaded.png.
set -euo pipefail

build=$1
out=$2
bin=$build/bin
bundle=$build/kexts/KextconfReference.kext
mkdir -p "$out"
work=$(mktemp -d /tmp/kcx.XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  exit 1
}

# Bounded wait for a condition (a hang is a failure, never a slow pass).
wait_for() {
  local what=$1
  shift
  for _ in $(seq 100); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  fail "timed out waiting for $what"
}

export KEXTSIM_ROOT=$work/sim KEXTCONFD_SOCKET=$work/kextconfd.sock
mkdir -p "$KEXTSIM_ROOT" "$work/etc"
# The GUI's settings go to the test directory, not the user's.
export XDG_CONFIG_HOME=$work/config XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 0700 "$XDG_RUNTIME_DIR"

Xvfb -displayfd 3 -screen 0 1100x800x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
wait_for "Xvfb" test -s "$work/display"
DISPLAY=:$(cat "$work/display")
export DISPLAY
unset QT_QPA_PLATFORM

"$bin/kextsim" boot --load "$bundle" 2>"$work/kextsim.log" &
pids+=($!)
kext_listed() { "$bin/kextsim" showloaded 2>/dev/null | grep -q org.kextconf.reference; }
wait_for "the reference kext" kext_listed

cat >"$work/etc/config.json" <<'JSON'
// written by xvfb_window_test.sh
{
    "kext": "org.kextconf.reference",
    "tunables": {"max_clients": 128, "log_level": "debug", "label": "lab-rack-7", "blocked_ports": [23, 135, 445]}
}
JSON
"$bin/kextconfd" --config "$work/etc/config.json" --state-dir "$work/state" 2>"$work/kextconfd.log" &
pids+=($!)
wait_for "kextconfd's socket" test -S "$KEXTCONFD_SOCKET"
wait_for "the first apply" grep -q "applied" "$work/kextconfd.log"

"$bin/KextController" --config "$work/etc/config.json" --kext-bundle "$bundle" 2>"$work/gui.log" &
gui=$!
pids+=("$gui")
window_mapped() { xdotool search --onlyvisible --name "^KextController" >/dev/null 2>&1; }
wait_for "the window" window_mapped
win=$(xdotool search --onlyvisible --name "^KextController" | head -n 1)
xdotool windowsize "$win" 1000 760 windowmove "$win" 50 20
# No window manager on Xvfb: focus the window directly; keys then go to it
# through XTEST, as from a keyboard.
xdotool windowfocus --sync "$win"
sleep 1 # let it paint
import -window root -crop 1000x760+50+20 "$out/kextcontroller.png"

xdotool key ctrl+r
wait_for "kextconfd to see the reload" grep -q "admin socket: reloading" "$work/kextconfd.log"
sleep 0.5
import -window root -crop 1000x760+50+20 "$out/kextcontroller-reloaded.png"

xdotool key ctrl+q
for _ in $(seq 100); do kill -0 "$gui" 2>/dev/null || break; sleep 0.1; done
kill -0 "$gui" 2>/dev/null && fail "Ctrl+Q did not quit the window"
wait "$gui" || fail "KextController exited with status $?"
test -s "$out/kextcontroller.png" || fail "no screenshot"
echo "screenshots in $out"
