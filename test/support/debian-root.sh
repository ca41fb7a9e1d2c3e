#!/usr/bin/env bash
# Prints the path of a cached Debian tree, building it once (test-peers.md "systemd as PID 1",
# "ARM under emulation"). Cached outside the checkout, keyed by release and kind, so reruns reuse it:
#   debian-root.sh system        a bootable amd64 rootfs (systemd, dbus, the tools the test uses)
#   debian-root.sh sysroot-arm64 an arm64 sysroot for qemu-aarch64-static -L
#   debian-root.sh sysroot-armhf an armhf sysroot (with libatomic1) for qemu-arm-static -L
# Env: CCGUARD_TEST_CACHE (default /var/cache/ccguard-test), CCGUARD_TEST_RELEASE (default bookworm).
set -euo pipefail
kind=${1:?usage: debian-root.sh system|sysroot-arm64|sysroot-armhf}
release=${CCGUARD_TEST_RELEASE:-bookworm}
cache=${CCGUARD_TEST_CACHE:-/var/cache/ccguard-test}/$release
dir=$cache/$kind
mkdir -p "$cache"
# One builder at a time per tree; the others wait and then find it done.
exec 9>"$cache/$kind.lock"
flock 9
# What the tree is made of; a changed recipe rebuilds it.
case "$kind" in
  system) recipe="$kind v2 include=systemd,systemd-sysv,dbus,procps,p7zip-full,openssh-server,openssl,iproute2,libpcsclite1" ;;
  *) recipe="$kind v1" ;;
esac
if [ -e "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$recipe" ]; then
  echo "$dir"
  exit 0
fi
# The mirror apt already uses (deb822 sources or the classic list).
mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}
rm -rf "$dir" "$dir.tmp"
case "$kind" in
  system)
    # procps, iproute2: pgrep and ip inside; p7zip-full opens the exported zip; openssh-server is
    # the double station's slave; openssl checks the HTTPS certificate; libpcsclite1 is a dependency
    # of the package (installed offline, as a controller image is built).
    debootstrap --variant=minbase --include="${recipe##*include=}" \
      "$release" "$dir.tmp" "$mirror" >"$cache/$kind.log" 2>&1 || {
      tail -n 20 "$cache/$kind.log" >&2
      exit 1
    }
    # No console login prompts, no network wait: the test drives the container through nsenter.
    rm -f "$dir.tmp/etc/systemd/system/getty.target.wants/"* "$dir.tmp/etc/systemd/system/multi-user.target.wants/ssh.service"
    chroot "$dir.tmp" apt-get clean
    ;;
  sysroot-arm64 | sysroot-armhf)
    arch=${kind#sysroot-}
    debootstrap --arch="$arch" --foreign --variant=minbase "$release" "$dir.tmp" "$mirror" >"$cache/$kind.log" 2>&1 || {
      tail -n 20 "$cache/$kind.log" >&2
      exit 1
    }
    # --foreign leaves the packages unpacked in the archive cache; the libraries node needs
    # (libc, libstdc++, libgcc; armhf's node also libatomic) are extracted directly.
    for deb in "$dir.tmp"/var/cache/apt/archives/{libc6,libstdc++6,libgcc-s1}_*.deb; do dpkg-deb -x "$deb" "$dir.tmp"; done
    if [ "$arch" = armhf ]; then
      tmp=$(mktemp -d)
      (cd "$tmp" && apt-get download -q "libatomic1:armhf" >/dev/null 2>&1) || {
        # apt needs the foreign architecture to fetch it (scripts/debian-packages.sh adds it the same way).
        dpkg --add-architecture armhf && apt-get update -qq && (cd "$tmp" && apt-get download -q "libatomic1:armhf" >/dev/null)
      }
      dpkg-deb -x "$tmp"/libatomic1_*.deb "$dir.tmp"
      rm -rf "$tmp"
    fi
    # The PC/SC binding links libpcsclite; its library is all it needs to load.
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -q "libpcsclite1:$arch" >/dev/null 2>&1) || {
      dpkg --add-architecture "$arch" && apt-get update -qq && (cd "$tmp" && apt-get download -q "libpcsclite1:$arch" >/dev/null)
    }
    dpkg-deb -x "$tmp"/libpcsclite1_*.deb "$dir.tmp"
    rm -rf "$tmp"
    ;;
  *)
    echo "debian-root.sh: unknown kind '$kind' (system, sysroot-arm64, sysroot-armhf)" >&2
    exit 2
    ;;
esac
echo "$recipe" >"$dir.tmp/.complete"
mv "$dir.tmp" "$dir"
echo "$dir"
