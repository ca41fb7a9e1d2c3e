#!/usr/bin/env bash
# Builds build/ccguard_VERSION_ARCH.deb: the compiled agent, its production dependencies with
# the native modules for ARCH, the systemd unit, sysusers/tmpfiles entries, the default config,
# the man page and the changelog.
#   build-deb.sh [amd64|arm64|armhf]  or  ARCH=… build-deb.sh (default: this machine's) — see README
#   "Building for ARM controllers".
set -euo pipefail
cd "$(dirname "$0")/.."
# A package is built from the sources alone: no loader hooks of a calling test runner.
unset NODE_OPTIONS

usage="usage: packaging/build-deb.sh [amd64|arm64|armhf] (or ARCH=amd64|arm64|armhf)"
# An argument not understood is refused: "build-deb.sh arm64" once built amd64 without a word (issue 25).
if [ "$#" -gt 1 ]; then
  echo "build-deb: one architecture at most, got: $*; $usage" >&2
  exit 2
fi
if [ "$#" -eq 1 ]; then
  case "$1" in
    amd64 | arm64 | armhf) ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "build-deb: unknown argument '$1'; $usage" >&2; exit 2 ;;
  esac
  if [ -n "${ARCH:-}" ] && [ "$ARCH" != "$1" ]; then
    echo "build-deb: ARCH=$ARCH and the argument $1 disagree; give one" >&2
    exit 2
  fi
  ARCH=$1
fi
arch=${ARCH:-$(dpkg --print-architecture)}
case "$arch" in
  amd64) npm_arch=x64 ;;
  arm64) npm_arch=arm64; cross=aarch64-linux-gnu ;;
  armhf) npm_arch=arm; cross=arm-linux-gnueabihf ;;
  *) echo "build-deb: unsupported ARCH '$arch' (amd64, arm64, armhf)" >&2; exit 2 ;;
esac
if [ -n "${cross:-}" ] && [ "$(dpkg --print-architecture)" != "$arch" ]; then
  if ! command -v "$cross-g++" >/dev/null; then
    echo "build-deb: building for $arch needs the cross compiler $cross-g++ (Debian: apt-get install g++-$cross)" >&2
    exit 1
  fi
  export CC="$cross-gcc" CXX="$cross-g++" LINK="$cross-g++" STRIP="$cross-strip"
fi
strip_cmd=${STRIP:-strip}

version=$(node -p "require('./package.json').version")
work="build/deb-$arch"
# Two builds of one architecture at once (tests run in parallel) would share $work: one at a time.
mkdir -p build
exec 9>"build/.deb-$arch.lock"
flock 9
root="$work/root"
app="$root/usr/lib/ccguard"
rm -rf "$work"
mkdir -p "$root/DEBIAN" "$app/dist"

# Compiled into the build directory: a dist/ in use (by a running suite) is left alone.
npx tsc -p . --outDir "$work/tsc" --sourceMap false
# The password blocklist, from the word lists of the build-time (dev) dependencies.
node packaging/build-blocklist.mjs "$work/tsc/policy" >/dev/null
# The agent's own modules in one bundle (and its lazily loaded chunks), as the launcher loads them.
node packaging/bundle.mjs "$work/tsc"
cp -r bin "$app/"
cp -r "$work/tsc/agent" "$work/tsc/policy" "$work/tsc/rfid" "$work/tsc/bundle" "$app/dist/"
# The HTTPS console (issue 26): its code, templates and static files.
cp -r "$work/tsc/console" "$app/dist/" && mkdir -p "$app/console" && cp -r console/views console/static "$app/console/"
cp package-lock.json "$app/"
# The project's own N-API modules (native/*/: binding.gyp, package.json, sources, a loader) are
# local dependencies (file:native/NAME): their sources go along, minus any build of this machine,
# and npm ci below compiles them for the target.
native_modules=()
for dir in native/*/; do
  [ -e "$dir/binding.gyp" ] || continue
  name=$(basename "$dir")
  native_modules+=("$name")
  mkdir -p "$app/native/$name"
  tar -C "$dir" --exclude=./build --exclude=./node_modules -cf - . | tar -C "$app/native/$name" -xf -
done
# The lock file stays in step with package.json; only the build-time scripts go.
node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
  delete p.scripts; delete p.tap; delete p.files;
  fs.writeFileSync(process.argv[1], JSON.stringify(p, null, 2) + "\n");
' "$app/package.json"
(cd "$app" && npm_config_arch="$npm_arch" npm ci --omit=dev --no-audit --no-fund --loglevel=error)
# smartcard is optional for a checkout (npm skips it when its build fails); a package needs it.
if [ ! -e "$app/node_modules/smartcard/build/Release/smartcard_napi.node" ]; then
  echo "build-deb: the smartcard (PC/SC) binding did not build for $arch; install libpcsclite-dev${cross:+:$arch} and build again" >&2
  exit 1
fi
# What a runtime never reads: tests, docs, type declarations, tool configs, the build tools of
# argon2's install step, and its musl binary (Debian is glibc).
nm="$app/node_modules"
find "$nm" -depth \( -name test -o -name tests -o -name docs -o -name .github -o -name .husky \) -type d -exec rm -rf {} +
find "$nm" \( -name '.*' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' ! -iname 'license*' \) -type f -delete
find "$nm/argon2/prebuilds" -name '*.musl.node' -delete
# valibot names TypeScript as an optional peer; npm installs it even with --omit=dev (and --omit=peer).
rm -rf "$nm/typescript" "$nm/@typescript"
find "$nm" \( -name '*.html' -o -name '*.sh' \) -type f -delete
# archiver's tar-stream names the Bare runtime's modules; their binaries are for Bare, never loaded by node.
rm -rf "$nm"/bare-*/prebuilds
rm -rf "$nm/cross-env" "$nm/which" "$nm/isexe" "$nm/nan" "$nm/node-addon-api" "$nm/argon2/argon2" "$nm/argon2/src" \
  "$nm/smartcard/src" "$nm/smartcard/node_modules/node-addon-api" "$nm/smartcard/build/Release/obj.target"

# Native modules: argon2 ships prebuilt binaries (keep the target's; a cross build also compiles
# it).
find "$app/node_modules/argon2/prebuilds" -mindepth 1 -maxdepth 1 ! -name "linux-$npm_arch" -exec rm -rf {} +
find "$app/node_modules" -path '*/build/Release/*' \( -name obj.target -o -name .deps \) -prune -exec rm -rf {} +
# The project's native modules (node_modules links to them): keep only the compiled modules
# (build/Release/*.node), package.json and the JavaScript loader.
for name in "${native_modules[@]}"; do
  mod="$app/native/$name"
  if ! compgen -G "$mod/build/Release/*.node" >/dev/null; then
    echo "build-deb: native/$name was not compiled: is it a dependency in package.json (\"file:native/$name\")?" >&2
    exit 1
  fi
  # The loader: package.json's "main" (its top folder, if it sits in one) and top-level scripts.
  main=$(node -p "(require('./$mod/package.json').main || 'index.js').replace(/^\\.\\//, '').split('/')[0]")
  find "$mod" -mindepth 1 -maxdepth 1 ! -name build ! -name package.json ! -name "$main" ! -name '*.js' ! -name '*.cjs' ! -name '*.mjs' -exec rm -rf {} +
  find "$mod/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$mod/build/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} +
done
# Build leftovers of the dependencies' native modules (node-gyp's makefiles, config.gypi, static
# libraries already linked into the .node): only build/Release/*.node is read at run time.
while IFS= read -r gyp; do
  b="$(dirname "$gyp")/build"
  [ -d "$b" ] || continue
  find "$b" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$b/Release" -mindepth 1 ! -name '*.node' -exec rm -rf {} + 2>/dev/null || true
done < <(find "$nm" -name binding.gyp)
# The sources they were compiled from (node-gyp's deps/ convention for vendored libraries, C and
# C++ files and headers, gyp files), and makefiles a package happened to ship.
find "$nm" -name binding.gyp -printf '%h\n' | while IFS= read -r pkg; do rm -rf "$pkg/deps"; done
find "$nm" -type f \( -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' -o -name '*.inl' -o -name '*.gyp' \
  -o -name '*.gypi' -o -name Makefile -o -name CMakeLists.txt -o -name '*.cmake' -o -name '*.mk' -o -name '*.a' -o -name '*.o' \) -delete
find "$nm" -mindepth 1 -type d -empty -delete
# argon2 loads build/Release first (node-gyp-build): where a cross build compiled it, the prebuild is unused.
if [ -e "$nm/argon2/build/Release/argon2.node" ]; then rm -rf "$nm/argon2/prebuilds"; fi
find "$app/node_modules" "$app/native" -name '*.node' -exec "$strip_cmd" --strip-unneeded {} +
find "$app" -type d -exec chmod 0755 {} +
find "$app" -type f -exec chmod 0644 {} +
chmod 0755 "$app/bin/ccguard.js"

mkdir -p "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" \
  "$root/etc/ccguard" "$root/usr/share/man/man1" "$root/usr/share/doc/ccguard" "$root/usr/share/bash-completion/completions" \
  "$root/usr/share/doc/ccguard/schemas"
ln -s ../lib/ccguard/bin/ccguard.js "$root/usr/bin/ccguard"
install -m 0644 packaging/ccguard.service "$root/lib/systemd/system/ccguard.service"
install -m 0644 packaging/ccguard-console.service "$root/lib/systemd/system/ccguard-console.service"
install -m 0644 packaging/ccguard.sysusers "$root/usr/lib/sysusers.d/ccguard.conf"
install -m 0644 packaging/ccguard.tmpfiles "$root/usr/lib/tmpfiles.d/ccguard.conf"
install -m 0644 packaging/config.json "$root/etc/ccguard/config.json"
gzip -9n < packaging/ccguard.1 > "$root/usr/share/man/man1/ccguard.1.gz"
gzip -9n < packaging/debian/changelog > "$root/usr/share/doc/ccguard/changelog.gz"
install -m 0644 packaging/debian/copyright "$root/usr/share/doc/ccguard/copyright"
install -m 0644 schemas/*.schema.json "$root/usr/share/doc/ccguard/schemas/"
install -D -m 0644 packaging/sync-master.conf "$root/usr/share/doc/ccguard/examples/sync-master.conf"
# Generated from the CLI itself, so it always matches the commands shipped.
node bin/ccguard.js completion bash > "$root/usr/share/bash-completion/completions/ccguard"
chmod 0644 "$root/usr/share/bash-completion/completions/ccguard"
for script in postinst prerm postrm; do install -m 0755 "packaging/debian/$script" "$root/DEBIAN/$script"; done
echo /etc/ccguard/config.json > "$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"

# The lowest Node a test runs the package on (package.json engines; issue 25: armhf's is 20.11.0).
node_floor=$(node -p "require('./package.json').engines.node.replace(/^>=\\s*/, '')")
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: ccguard
Version: $version
Architecture: $arch
Maintainer: ccguard maintainers <ccguard@example.invalid>
Installed-Size: $installed_kb
Depends: nodejs (>= $node_floor), systemd, libc6, libstdc++6, libpcsclite1
Recommends: pcscd
Section: admin
Priority: optional
Homepage: https://example.invalid/ccguard
Description: security agent of an EV charge controller
 Keeps the station's local credentials safe: per-device default passwords that
 must be changed, a password policy, brute-force throttling, a Reset Password
 PUK and a security event log, behind a local control socket and CLI.
CONTROL

out="build/ccguard_${version}_${arch}.deb"
# Renamed into place: a reader of the previous package keeps a whole file.
dpkg-deb --build --root-owner-group "$root" "$out.partial" >/dev/null
mv "$out.partial" "$out"
echo "$out"
