#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need on a fresh machine, builds,
# runs the suite and ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the native modules' build tools (argon2 falls back to a source build;
# unix-dgram always builds); lintian and the ARM cross compilers for the packaging test; OpenSSH
# (a real sshd on 127.0.0.1) and openssl for the web interface tests; 7-Zip to open exported logs,
# script(1) for a terminal; pcscd, the vpcd virtual reader, virtual cards and pcsc_scan for the
# master card tests (the virtual NTAG 424 DNA's AES from pycryptodome, its test client on pyscard
# and python3-cryptography), and libpcsclite-dev for the smartcard binding that npm ci builds (also for
# arm64 and armhf, which the cross-built packages link against); systemd-analyze for the unit's checks
# and strace to record the daemon's system calls against the unit's SystemCallFilter.
need=()
for tool in g++:g++ make:make python3:python3 lintian:lintian \
  aarch64-linux-gnu-g++:g++-aarch64-linux-gnu arm-linux-gnueabihf-g++:g++-arm-linux-gnueabihf \
  /usr/sbin/sshd:openssh-server ssh-keygen:openssh-client openssl:openssl 7z:p7zip-full script:bsdutils \
  systemd-analyze:systemd strace:strace \
  /usr/sbin/pcscd:pcscd /usr/include/PCSC/winscard.h:libpcsclite-dev \
  /usr/lib/pcsc/drivers/serial/libifdvpcd.so:vsmartcard-vpcd \
  /usr/lib/python3/site-packages/virtualsmartcard:python3-virtualsmartcard pcsc_scan:pcsc-tools \
  /usr/lib/python3/dist-packages/Cryptodome:python3-pycryptodome \
  /usr/lib/python3/dist-packages/smartcard:python3-pyscard \
  /usr/lib/python3/dist-packages/cryptography:python3-cryptography \
  /usr/lib/aarch64-linux-gnu/libpcsclite.so:libpcsclite-dev:arm64 \
  /usr/lib/arm-linux-gnueabihf/libpcsclite.so:libpcsclite-dev:armhf; do
  path=${tool%%:*}
  if [ "${path#/}" != "$path" ]; then [ -e "$path" ] || need+=("${tool#*:}")
  else command -v "$path" >/dev/null 2>&1 || need+=("${tool#*:}"); fi
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${need[*]}"
    # The cross-built packages link the smartcard binding against the target's libpcsclite (multiarch).
    for pkg in "${need[@]}"; do
      case "$pkg" in *:arm64 | *:armhf) dpkg --add-architecture "${pkg##*:}" ;; esac
    done
    # One stale mirror index must not stop the install; a package really missing fails below.
    apt-get update -qq || echo "apt-get update reported errors; installing anyway" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "missing: ${need[*]}; install them (Debian: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

npm ci --no-audit --no-fund
exec bash test/tap.sh "$@"
