// The agent without a usable PC/SC binding, as on a machine where npm could not build `smartcard`
// (no libpcsclite-dev): a copy of the built agent whose node_modules lacks the package (npm leaves
// a failed optional dependency out) or holds one whose native binary does not load. The daemon
// serves, and status, readers and audit say that RFID is unavailable and how to enable it.
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { daemonAnswers } from '../../../agent/wire/client.js';
import type { StatusReport } from '../../../agent/wire/status-report.js';
import { allLogText, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, ROOT, type Env } from '../../support/harness.js';
import { schemaErrors } from '../../support/json-schema.js';

const PACKAGES = 'apt-get install --no-install-recommends libpcsclite-dev pcscd';
const run = promisify(execFile);

t.test('the agent builds without the smartcard package: the fallback declaration covers what it uses', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  // As tsc resolves it where npm left the package out: tsconfig's second "paths" entry only.
  const config = join(env.dir, 'tsconfig.json');
  await writeFile(
    config,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        paths: { smartcard: [join(ROOT, 'types', 'fallback', 'smartcard.d.ts')] },
      },
    }),
  );
  // Without the loader hooks tap puts in NODE_OPTIONS of every child (tsc's own loading trips over them).
  const tsc = await run('bash', ['-c', 'unset NODE_OPTIONS; exec "$0" -p "$1"', join(ROOT, 'node_modules', '.bin', 'tsc'), config]).then(
    () => ({ code: 0, out: '' }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  t.equal(tsc.code, 0, `tsc with types/fallback/smartcard.d.ts: ${tsc.out}`);
});

/** bin/, the compiled agent and package.json in `dir`, with every installed package but smartcard linked in; `smartcard` as given. */
async function copyAgent(dir: string, smartcard: 'absent' | 'broken'): Promise<string> {
  const app = join(dir, 'app');
  await mkdir(join(app, 'node_modules'), { recursive: true });
  await cp(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  for (const part of ['agent', 'policy', 'rfid', 'bundle']) await cp(join(ROOT, 'dist', part), join(app, 'dist', part), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(app, 'package.json'));
  for (const name of await readdir(join(ROOT, 'node_modules'))) {
    if (name !== 'smartcard' && !name.startsWith('.')) await symlink(join(ROOT, 'node_modules', name), join(app, 'node_modules', name));
  }
  if (smartcard === 'broken') {
    // The package as npm left it, with a native binary that is no shared object (as when built for another system).
    await cp(join(ROOT, 'node_modules', 'smartcard'), join(app, 'node_modules', 'smartcard'), { recursive: true, dereference: true });
    await writeFile(join(app, 'node_modules', 'smartcard', 'build', 'Release', 'smartcard_napi.node'), 'not a shared object\n');
  }
  return app;
}

async function startCopy(app: string, env: Env): Promise<{ stop(): Promise<number | null> }> {
  const proc = spawn(join(app, 'bin', 'ccguard.js'), ['daemon', '--config', env.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const deadline = performance.now() + 15_000;
  while (!(await daemonAnswers(env.socket, 200))) {
    if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode}: ${output}`);
    if (performance.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`daemon did not serve within 15 s: ${output}`);
    }
    await sleep(50);
  }
  return {
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

for (const [smartcard, reason, command] of [
  ['absent', /^the PC\/SC binding \(npm package smartcard\) is not installed: it is built at install time and needs libpcsclite-dev$/, 'npm install'],
  ['broken', /^the PC\/SC binding \(npm package smartcard\) cannot be loaded: .*smartcard_napi\.node/, 'npm rebuild smartcard'],
] as const) {
  t.test(`smartcard ${smartcard}: the daemon serves; status, readers and audit say RFID is unavailable and how to enable it`, async (t) => {
    const env = await makeEnv();
    t.teardown(() => cleanup(env));
    const app = await copyAgent(env.dir, smartcard);
    await provisionWithDefaults(env);
    const daemon = await startCopy(app, env);
    t.teardown(() => daemon.stop());
    const enable = `${PACKAGES} && cd ${app} && ${command}`;

    const status = JSON.parse((await cli(env, ['status', '--json'])).stdout) as StatusReport;
    t.match(status.rfid, { service: 'unavailable', serviceError: reason, enableCommand: enable, readers: [] });
    t.equal(await schemaErrors('status.schema.json', status), null, 'status --json conforms to schemas/status.schema.json');
    t.match((await cli(env, ['status'])).stdout, enable, 'human status shows the command');

    const readers = await cli(env, ['readers', '--json']);
    t.equal(readers.code, 0);
    t.same(JSON.parse(readers.stdout), status.rfid, 'readers --json: the same object');
    t.equal(await schemaErrors('readers.schema.json', JSON.parse(readers.stdout)), null);
    t.match((await cli(env, ['readers'])).stdout, `to enable the card readers: ${enable}`);

    const audit = await cli(env, ['audit', '--json']);
    const report = JSON.parse(audit.stdout) as { findings: Array<{ id: string; severity: string; fix: string }> };
    t.equal(await schemaErrors('audit.schema.json', report), null, 'audit --json conforms to schemas/audit.schema.json');
    t.match(
      report.findings.find((f) => f.id === 'rfid-unavailable'),
      { severity: 'low', fix: enable },
    );
    t.match((await cli(env, ['audit'])).stdout, enable, 'human audit shows the command');

    // Everything but the card readers works.
    t.equal((await cli(env, ['login', 'operator', '--stdin'], `${DEFAULTS.operator}\n`)).code, 3);
    t.equal((await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\nQuartz-Fjord-91-Lantern\n`)).code, 0);
    const enroll = await cli(env, ['master-card', 'enroll', '--timeout', '1', '--stdin'], 'Quartz-Fjord-91-Lantern\n');
    t.equal(enroll.code, 1);
    t.match(enroll.stderr, /no card reader can be used \(rfid service unavailable: the PC\/SC binding/);
    t.equal(await daemon.stop(), 0, 'SIGTERM: clean exit');
    t.match(await allLogText(env), `"enableCommand":${JSON.stringify(enable)}`, 'the agent log names the command too');
  });
}
