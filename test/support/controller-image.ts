// A controller image in a systemd container: /persistency (the vendor's partition, there before the
// service starts), the "nodejs" runtime package and ccguard's own, installed offline with apt-get as an
// image is built, so every dependency comes from the image or the given files.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecResult, SystemdContainer } from './systemd-container.js';

export async function installController(c: SystemdContainer, debs: { nodejs: string; ccguard: string }): Promise<ExecResult> {
  await mkdir(join(c.root, 'persistency'), { mode: 0o755 });
  await mkdir(join(c.root, 'root', 'pkg'), { recursive: true });
  await copyFile(debs.ccguard, join(c.root, 'root', 'pkg', 'ccguard.deb'));
  await copyFile(debs.nodejs, join(c.root, 'root', 'pkg', 'nodejs.deb'));
  const install = await c.exec(['apt-get', 'install', '-y', '--no-install-recommends', '/root/pkg/nodejs.deb', '/root/pkg/ccguard.deb'], {
    timeoutMs: 120_000,
  });
  // The web server's files: the service writes the style file and the HTTPS certificate there.
  if (install.code === 0) await c.exec(['sh', '-c', 'chgrp ccguard /persistency && chmod 0775 /persistency']);
  return install;
}

/** Waits (bounded) until ccguard.service is active and running; the last `systemctl show` either way. */
export async function waitActive(c: SystemdContainer, timeoutMs = 30_000): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let s: Record<string, string> = {};
  while (Date.now() < deadline) {
    s = await c.show('ccguard.service', ['ActiveState', 'SubState', 'MainPID', 'StatusText', 'NRestarts', 'Result']);
    if (s.ActiveState === 'active' && s.SubState === 'running') return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  return s;
}
