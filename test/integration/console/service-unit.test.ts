// The console's unit, checked offline with systemd's own tools (nothing is installed).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from '../../support/harness.js';

const UNIT = join(ROOT, 'packaging', 'ccguard-console.service');

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
  });
}

t.test('ccguard-console.service is hardened like the daemon: systemd-analyze security ≤ 2.0', async (t) => {
  const r = await run('systemd-analyze', ['security', '--offline=true', UNIT]);
  const score = Number(/Overall exposure level for ccguard-console\.service: ([\d.]+)/.exec(r.out)?.[1]);
  t.ok(score <= 2.0, `exposure ${score} (systemd-analyze is in Debian's systemd package): ${r.out.slice(-400)}`);
});

t.test('its own user in group ccguard, no access to the state, network only for HTTPS', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const unit = await readFile(UNIT, 'utf8');
  t.match(unit, /^User=ccguard-console$/m);
  t.match(unit, /^SupplementaryGroups=ccguard$/m);
  t.match(unit, /^InaccessiblePaths=.*\/var\/lib\/ccguard/m);
  t.match(unit, /^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$/m);
  const sysusers = await readFile(join(ROOT, 'packaging', 'ccguard.sysusers'), 'utf8');
  t.match(sysusers, /^u ccguard-console /m);
  t.match(sysusers, /^m ccguard-console ccguard$/m);
});
