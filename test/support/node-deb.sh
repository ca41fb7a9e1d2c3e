#!/usr/bin/env bash
# Wraps a Node binary in a small Debian package "nodejs", the way a controller vendor ships the
# runtime ccguard's package depends on (Debian 12's own nodejs is 18). Prints the .deb's path; cached.
#   node-deb.sh NODE_BINARY ARCH OUT_DIR
set -euo pipefail
node_bin=${1:?usage: node-deb.sh NODE_BINARY ARCH OUT_DIR}
arch=${2:?arch}
out_dir=${3:?out dir}
version=$("$node_bin" -p 'process.versions.node' 2>/dev/null || basename "$(dirname "$(dirname "$node_bin")")" | sed 's/.*-//')
deb="$out_dir/nodejs_${version}-ccguardtest_${arch}.deb"
if [ -e "$deb" ] && [ "$deb" -nt "$node_bin" ]; then
  echo "$deb"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
install -D -m 0755 "$node_bin" "$tmp/usr/bin/node"
mkdir -p "$tmp/DEBIAN"
cat >"$tmp/DEBIAN/control" <<CONTROL
Package: nodejs
Version: ${version}-ccguardtest
Architecture: $arch
Maintainer: ccguard tests <ccguard@example.invalid>
Depends: libc6, libstdc++6, libgcc-s1
Section: javascript
Priority: optional
Description: Node.js runtime (the official binary, packaged for ccguard's system tests)
CONTROL
mkdir -p "$out_dir"
dpkg-deb --build --root-owner-group "$tmp" "$deb.tmp" >/dev/null
mv "$deb.tmp" "$deb"
echo "$deb"
