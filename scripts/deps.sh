#!/usr/bin/env bash
# Installs the Debian 12 packages kextconf needs, only those missing.
# Non-interactive; uses sudo when not root.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libplist-dev
  libgtest-dev libgmock-dev libbenchmark-dev shellcheck util-linux
  tmux valgrind nftables procps iproute2 ccache
  file libxml2-utils llvm python3
  qt6-base-dev libgl-dev xvfb xdotool imagemagick
)
# ccache: scripts/test.sh's builds; tmux: kextconfctl top's test; valgrind,
# nftables, procps, iproute2: the benchmarks' instruction budgets and their
# sysctl -p / nft -f baselines.
# file, libxml2-utils, llvm, python3: scripts/macos-check.sh (which also
# needs npm, from Node.js, to fetch zig: scripts/zig.sh).
# qt6-base-dev (libgl-dev: Qt6Gui's CMake config looks for OpenGL):
# KextController; xvfb, xdotool, imagemagick: its real-window test and
# screenshots (tests/gui/xvfb_window_test.sh).

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing ${missing[*]} and no apt-get here; install them by hand (see README)" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo -n)
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
