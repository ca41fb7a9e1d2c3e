// `ccguard audit` against the real daemon: a fresh station fails with every expected high finding;
// running each finding's own fix command clears them all. JSON checked against schemas/.
import { spawn } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { AuditReport } from '../../../agent/wire/audit-report.js';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../../support/harness.js';
import { nonConforming, schemaErrors } from '../../support/json-schema.js';

const NEW = {
  manufacturer: 'Quartz-Fjord-91-Lantern',
  installer: 'Cobalt-Meadow-27-Anchor',
  operator: 'Harbor-Violet-46-Quill',
  user: 'Saffron-Ridge-83-Mosaic',
} as const;
const PUK = 'K7#pl-Rx9!-4mQz';

async function auditJson(env: Env): Promise<{ code: number; report: AuditReport }> {
  const r = await cli(env, ['audit', '--json']);
  return { code: r.code, report: JSON.parse(r.stdout) as AuditReport };
}

/** The secrets a fix command reads with --stdin, in prompt order. */
function secretsFor(command: string): string {
  const passwd = /^ccguard passwd (\w+)$/.exec(command);
  if (passwd) {
    const role = passwd[1] as keyof typeof NEW;
    return `${DEFAULTS[role]}\n${NEW[role]}\n`;
  }
  if (command === 'ccguard puk set') return `${NEW.manufacturer}\n${PUK}\n`;
  if (command === 'ccguard log-password set') return `${NEW.manufacturer}\nLog-Secret-Phrase-2026\n`;
  return `${NEW.manufacturer}\n`;
}

/** Runs a terminal command (script(1) gives a pseudo-terminal) and returns what it printed. */
function inTerminal(env: Env, command: string, extraEnv: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    // A technician's shell: a terminal type, and none of the test runner's colour settings.
    const { NO_COLOR: _n, FORCE_COLOR: _f, ...base } = process.env;
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...base, TERM: 'xterm-256color', CCGUARD_SOCKET: env.socket, ...extraEnv } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => resolve(out));
  });
}

t.test('fresh station: every expected high finding, exit 1; each fix clears its finding; then exit 0', async (t) => {
  const env = await makeEnv((dir) => ({
    // OWASP's minimum, as shipped (the other tests use cheaper hashes).
    argon2: { memoryKiB: 19_456, timeCost: 2, parallelism: 1 },
    webUi: { styleFile: join(dir, 'WebUIStyle_web') },
    https: { certFile: join(dir, 'https', 'server.crt'), keyFile: join(dir, 'https', 'server.key') },
    rfid: { enabled: false, tapResetsRoles: ['installer', 'operator', 'user'] },
  }));
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());

  const fresh = await auditJson(env);
  t.equal(fresh.code, 1, 'exit 1 with high findings');
  t.equal(await schemaErrors('audit.schema.json', fresh.report), null, 'conforms to schemas/audit.schema.json');
  const ids = (severity: string, report: AuditReport): string[] =>
    report.findings
      .filter((f) => f.severity === severity)
      .map((f) => f.id)
      .sort();
  t.same(ids('high', fresh.report), [
    'default-password.installer',
    'default-password.manufacturer',
    'default-password.operator',
    'default-password.user',
    'https-off',
    'manufacturer-unchanged',
  ]);
  t.same(ids('medium', fresh.report), ['forced-change-off', 'legacy-web-interface', 'no-log-password', 'no-recovery-path']);
  t.equal(fresh.report.passed, false);
  t.match(
    fresh.report.findings.find((f) => f.id === 'default-password.operator'),
    { provision: 'EN 303 645 5.1-1', fix: 'ccguard passwd operator' },
  );

  const human = await cli(env, ['audit']);
  t.equal(human.code, 1);
  t.match(human.stdout, /^ccguard audit: FAILED — 6 high, 4 medium, 0 low, 0 info\n/);
  t.match(human.stdout, /HIGH {4}HTTPS is off {2}\[https-off\]\n {8}.*\(EN 303 645 5\.5-1\)\n {8}fix: ccguard https enable/);
  t.notMatch(human.stdout, /\x1b\[/, 'no colour into a pipe');
  t.match(await inTerminal(env, 'bin/ccguard.js audit', {}), /\x1b\[31mHIGH/, 'colour on a terminal');
  t.notMatch(await inTerminal(env, 'bin/ccguard.js audit', { NO_COLOR: '1' }), /\x1b\[/, 'never with NO_COLOR');

  // A state file others can read: a high finding whose fix is the chmod to run.
  const stateFile = join(env.stateDir, 'state.000000000001.json');
  await chmod(stateFile, 0o644);
  const loose = (await auditJson(env)).report.findings.find((f) => f.id === `loose-permissions.${stateFile}`);
  t.match(loose, { severity: 'high', fix: `chmod 0600 ${stateFile}`, provision: 'EN 303 645 5.4-1' });

  // Run every finding's fix as written (secrets on stdin), each distinct command once, until nothing is left.
  for (let round = 0; round < 3; round++) {
    const { report } = await auditJson(env);
    const commands = [...new Set(report.findings.map((f) => (f.fix.split('(or:')[0] as string).trim()))];
    for (const command of commands.sort((a, b) => Number(b.startsWith('chmod')) - Number(a.startsWith('chmod')))) {
      const [program, ...args] = command.split(/\s+/);
      if (program === 'chmod') {
        await chmod(args[1] as string, Number.parseInt(args[0] as string, 8));
        continue;
      }
      t.equal(program, 'ccguard', `"${command}" is a ccguard command`);
      const r = await cli(env, [...args, ...(args[0] === 'https' || args[0] === 'webui' ? ['--as', 'manufacturer'] : []), '--stdin'], secretsFor(command));
      t.equal(r.code, 0, `"${command}" works: ${r.stderr}`);
    }
  }
  const after = await auditJson(env);
  t.same(after.report.findings, [], 'no finding left');
  t.equal(after.code, 0);
  t.equal(after.report.passed, true);
  t.equal(await schemaErrors('audit.schema.json', after.report), null);
  const passed = await cli(env, ['audit']);
  t.equal(passed.code, 0);
  t.match(passed.stdout, /^ccguard audit: PASSED — 0 high, 0 medium, 0 low, 0 info/);

  const status = await cli(env, ['status', '--json']);
  t.equal(await schemaErrors('status.schema.json', JSON.parse(status.stdout)), null, 'status --json conforms to schemas/status.schema.json');
  const policy = await cli(env, ['policy', 'show', '--json']);
  t.equal(await schemaErrors('policy.schema.json', JSON.parse(policy.stdout)), null, 'policy show --json conforms to schemas/policy.schema.json');
  const readers = await cli(env, ['readers', '--json']);
  t.equal(await schemaErrors('readers.schema.json', JSON.parse(readers.stdout)), null, 'readers --json conforms to schemas/readers.schema.json');
  const events = (await cli(env, ['events', '--json', '--limit', '1000'])).stdout.trim().split('\n');
  t.ok(events.length > 10, `the fixes left events (${events.length})`);
  t.same(
    await nonConforming(
      'event.schema.json',
      events.map((line) => JSON.parse(line) as unknown),
    ),
    [],
    'events --json lines conform to schemas/event.schema.json',
  );
  const statusHuman = await cli(env, ['status']);
  // One aligned column: every value starts after the longest label ("role manufacturer") and two spaces.
  // The uptime passes a minute on a loaded machine.
  t.match(statusHuman.stdout, /^daemon {13}ccguard \d+\.\d+\.\d+, up (\d+ min )?\d+ s\nprovisioned {8}yes \(state generation \d+\)\nrole manufacturer {2}ok\n/);
  t.match(statusHuman.stdout, /\nrole operator {6}must change\n/, 'forced change on: the operator must change');
  t.match(statusHuman.stdout, /\nrecovery {11}PUK set \(10 tries left\), 0 master cards\n/);
  t.match(statusHuman.stdout, /\ncertificate {8}SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}, valid until /);
  t.match(statusHuman.stdout, /\nsync {15}not a double station/);
});

t.test('bash completion, --version', async (t) => {
  const script = await cli(null, ['completion', 'bash']);
  t.equal(script.code, 0);
  const complete = (words: string[]): Promise<string> =>
    new Promise((resolve) => {
      const line = `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ccguard; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const child = spawn('bash', ['-c', line]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => resolve(out.trim()));
    });
  t.same((await complete(['ccguard', 'master-card', ''])).split('\n'), ['enroll', 'list', 'remove', '--help']);
  t.same((await complete(['ccguard', 'au'])).split('\n'), ['audit']);
  t.same((await complete(['ccguard', 'logs', 'export', '--as', ''])).split('\n'), ['operator', 'installer', 'manufacturer']);
  t.same((await complete(['ccguard', 'passwd', 'op'])).split('\n'), ['operator']);
  t.match(await complete(['ccguard', 'audit', '--']), /--json/);
  const version = await cli(null, ['--version']);
  t.equal(version.code, 0);
  t.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});
