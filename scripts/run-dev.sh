#!/usr/bin/env bash
# The README's run command (npm start): on a fresh Debian machine (root, Node 20) it installs what
# the agent needs, installs the npm dependencies, builds, and runs the daemon with its built-in
# default config (arguments go to `ccguard daemon`, e.g. --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the native modules' build tools (argon2 falls back to a source build,
# unix-dgram always builds), and for the card readers the PC/SC headers the smartcard binding is
# built against and pcscd. smartcard is optional: without libpcsclite-dev npm leaves it out and the
# agent runs with RFID unavailable (status, readers and audit say how to enable it).
# shellcheck source=debian-packages.sh
. scripts/debian-packages.sh
install_missing_debs g++:g++ make:make python3:python3 /usr/include/PCSC/winscard.h:libpcsclite-dev /usr/sbin/pcscd:pcscd ||
  echo "going on without them" >&2

# npm ci when the installed tree is older than the lock file (a fresh clone, a pull); its prepare
# step builds. Otherwise only the build, which takes a second.
if [ ! -e node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run build --silent
fi
if [ ! -e node_modules/smartcard/build/Release/smartcard_napi.node ]; then
  echo "note: the PC/SC binding (smartcard) is not built: the agent runs without card readers; 'ccguard status' shows how to enable them" >&2
fi
exec ./bin/ccguard.js daemon "$@"
