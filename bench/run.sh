#!/usr/bin/env bash
# Runs kextconf's benchmarks against their same-run baselines and prints the
# table (docs/performance.md explains each row and how it is measured).
#
#   bench/run.sh [--quick] [kcbench arguments...]
#
# Installs what the baselines need when missing (nftables, procps, valgrind,
# util-linux, iproute2; apt-get, non-interactive), builds the optimized
# `release` preset, and runs build/release/bin/kcbench. Needs root: the
# sysctl and nft baselines run in a private network namespace (unshare -n).
# Exit status is kcbench's: 0 all targets met, 1 one missed, 3 a benchmark
# could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: needs root for the network-namespace baselines (sysctl -p, nft -f); run with sudo" >&2
  exit 2
fi

scripts/deps.sh
missing=()
for p in nftables procps valgrind util-linux iproute2; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -ne 0 ]; then
  echo "bench/run.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target kcbench >/dev/null

os=$(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $os, kernel $(uname -r)"
exec build/release/bin/kcbench "$@"
