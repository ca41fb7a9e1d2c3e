# Sourced by the README's two commands (scripts/run-dev.sh, test/run.sh): installs the Debian
# packages whose file or command is missing. Each argument is PATH_OR_COMMAND:PACKAGE[:ARCH].
# As root with apt-get, it installs them (--no-install-recommends: recommends of a foreign-arch
# package can replace the host's python3, test-peers.md); otherwise it names them and returns 1.
install_missing_debs() {
  local need=() tool path pkg
  for tool in "$@"; do
    path=${tool%%:*}
    if [ "${path#/}" != "$path" ]; then [ -e "$path" ] || need+=("${tool#*:}")
    else command -v "$path" >/dev/null 2>&1 || need+=("${tool#*:}"); fi
  done
  [ "${#need[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "missing Debian packages: ${need[*]} (as root: apt-get install --no-install-recommends ${need[*]})" >&2
    return 1
  fi
  echo "installing Debian packages: ${need[*]}"
  # The cross-built packages link the native modules against the target's libraries (multiarch).
  for pkg in "${need[@]}"; do
    case "$pkg" in *:arm64 | *:armhf) dpkg --add-architecture "${pkg##*:}" ;; esac
  done
  # One stale mirror index must not stop the install; a package really missing fails below.
  apt-get update -qq || echo "apt-get update reported errors; installing anyway" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
}
