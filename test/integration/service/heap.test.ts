// argon2's working memory under the daemon as shipped (bin/ccguard.js and its launcher flags):
// kept on the heap between logins, so a login does not fault in its 19 MiB afresh, and given back
// to the kernel once no hash has run for a while. Counted in page faults and RSS from /proc, not
// timed.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { call } from '../../../agent/wire/client.js';
import { cleanup, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon } from '../../support/harness.js';

const ARGON2 = { memoryKiB: 19 * 1024, timeCost: 1, parallelism: 1 };
const PAGES_PER_HASH = (ARGON2.memoryKiB * 1024) / 4096;
const PASSWORD = 'Tr4v3l-K1te-Moss';

/** Minor page faults of `pid` so far (field 10 of /proc/PID/stat, after the command in parentheses). */
async function minorFaults(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

async function rssMiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

t.test('a login reuses the memory of the last hash, and an idle daemon gives it back', async (t) => {
  const env = await makeEnv({ argon2: ARGON2 });
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const pid = daemon.proc.pid as number;
  await call(env.socket, 'passwd', { role: 'operator', currentPassword: DEFAULTS.operator, newPassword: PASSWORD });
  for (let i = 0; i < 3; i++) await call(env.socket, 'login', { role: 'operator', password: PASSWORD });

  const LOGINS = 10;
  const before = await minorFaults(pid);
  for (let i = 0; i < LOGINS; i++) await call(env.socket, 'login', { role: 'operator', password: PASSWORD });
  const perLogin = ((await minorFaults(pid)) - before) / LOGINS;
  // A hash mapped afresh faults every one of its pages; a reused one only what the request itself touches.
  t.ok(perLogin < PAGES_PER_HASH / 4, `${perLogin.toFixed(0)} page faults per login (a fresh hash: ${PAGES_PER_HASH})`);

  const hot = await rssMiB(pid);
  // The daemon trims 10 s after the last hash (daemon.ts HEAP_IDLE_MS); its check runs every 10 s.
  let idle = hot;
  for (let waited = 0; waited < 25_000 && hot - idle < 15; waited += 1000) {
    await sleep(1000);
    idle = await rssMiB(pid);
  }
  t.ok(hot - idle >= 15, `RSS ${hot.toFixed(1)} MiB after the logins, ${idle.toFixed(1)} MiB once idle`);

  const faultsBefore = await minorFaults(pid);
  t.same(await call(env.socket, 'login', { role: 'operator', password: PASSWORD }), { role: 'operator', mustChange: false }, 'a login after the trim works');
  t.ok((await minorFaults(pid)) - faultsBefore >= PAGES_PER_HASH / 2, 'the first hash after the trim faults its memory in again (it was given back)');
});
