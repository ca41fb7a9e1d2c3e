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
# and strace to record the daemon's system calls against the unit's SystemCallFilter; Debian's chromium,
# the real browser the console's tests drive (playwright-core; its own browser download is unreachable);
# debootstrap and systemd-nspawn for the system tests (the package under systemd as PID 1 in a container,
# cached rootfs) and qemu-user-static to execute the arm64 and armhf packages (test/integration/system/).
# shellcheck source=../scripts/debian-packages.sh
. scripts/debian-packages.sh
install_missing_debs g++:g++ make:make python3:python3 lintian:lintian \
  aarch64-linux-gnu-g++:g++-aarch64-linux-gnu arm-linux-gnueabihf-g++:g++-arm-linux-gnueabihf \
  /usr/sbin/sshd:openssh-server ssh-keygen:openssh-client openssl:openssl 7z:p7zip-full script:bsdutils \
  systemd-analyze:systemd strace:strace /usr/bin/chromium:chromium \
  /usr/sbin/debootstrap:debootstrap /usr/bin/systemd-nspawn:systemd-container /usr/bin/qemu-aarch64-static:qemu-user-static \
  /usr/sbin/pcscd:pcscd /usr/include/PCSC/winscard.h:libpcsclite-dev \
  /usr/lib/pcsc/drivers/serial/libifdvpcd.so:vsmartcard-vpcd \
  /usr/lib/python3/site-packages/virtualsmartcard:python3-virtualsmartcard pcsc_scan:pcsc-tools \
  /usr/lib/python3/dist-packages/Cryptodome:python3-pycryptodome \
  /usr/lib/python3/dist-packages/smartcard:python3-pyscard \
  /usr/lib/python3/dist-packages/cryptography:python3-cryptography \
  /usr/lib/aarch64-linux-gnu/libpcsclite.so:libpcsclite-dev:arm64 \
  /usr/lib/arm-linux-gnueabihf/libpcsclite.so:libpcsclite-dev:armhf

npm ci --no-audit --no-fund
exec bash test/tap.sh "$@"
