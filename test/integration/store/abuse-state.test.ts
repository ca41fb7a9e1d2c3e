// Hostile or damaged state files: a fallback to an older generation is a finding until the
// manufacturer acknowledges it; a state written by a newer ccguard stops the daemon and renames nothing.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson } from '../../support/harness.js';
import { schemaErrors } from '../../support/json-schema.js';

const NEW_USER = 'Kq7#vM2p!xW9zR4t';
const NEW_MANUFACTURER = 'Tz8&nB3q@Lw6yP1s';

function rewrite(text: string, change: (payload: string) => string, header?: (h: string) => string): string {
  const cut = text.indexOf('\n') + 1;
  const payload = change(text.slice(cut));
  const sha = createHash('sha256').update(payload).digest('hex');
  const h = text.slice(0, cut).replace(/sha256=[0-9a-f]{64}/, `sha256=${sha}`);
  return (header ? header(h) : h) + payload;
}

t.test('one flipped byte in the newest generation: status and audit report the fallback until the manufacturer acknowledges it', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  let daemon = await startDaemon(env);
  t.equal((await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${NEW_MANUFACTURER}\n`)).code, 0);
  t.equal((await cli(env, ['passwd', 'user', '--stdin'], `${DEFAULTS.user}\n${NEW_USER}\n`)).code, 0);
  await daemon.stop();
  const names = (await readdir(env.stateDir)).filter((n) => /^state\.\d+\.json$/.test(n)).sort();
  const newest = join(env.stateDir, names[names.length - 1] as string);
  const text = await readFile(newest, 'utf8');
  // One byte of the payload, as a failing flash cell would: the checksum no longer holds.
  const at = text.indexOf('"hash"', text.indexOf('"user":{')) + 40;
  await writeFile(newest, text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 0x01) + text.slice(at + 1));

  daemon = await startDaemon(env);
  let s = await statusJson(env);
  t.ok(s.stateFallback, 'status says the state fell back');
  t.match(s.stateFallback, { reason: /checksum/, mayHaveLost: ['roles.user'] }, 'the user password change may be lost');
  t.equal(await schemaErrors('status.schema.json', s), null, 'status --json with a fallback conforms to schemas/status.schema.json');
  t.equal((await cli(env, ['login', 'user', '--stdin'], `${DEFAULTS.user}\n`)).code, 3, "the user's previous (default) password works again");
  let audit = await cli(env, ['audit', '--json']);
  t.equal(audit.code, 1, 'audit fails: a high finding');
  const finding = (JSON.parse(audit.stdout) as { findings: Array<{ id: string; severity: string; meaning: string }> }).findings.find(
    (f) => f.id === 'state-fallback',
  );
  t.equal(finding?.severity, 'high');
  t.match(finding?.meaning, /roles\.user/);
  t.equal(await schemaErrors('audit.schema.json', JSON.parse(audit.stdout)), null, 'audit --json with the finding conforms to schemas/audit.schema.json');

  // It survives a restart: only an acknowledgement clears it.
  await daemon.stop();
  daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  t.ok((await statusJson(env)).stateFallback, 'still reported after a restart');
  const wrong = await cli(env, ['acknowledge-fallback', '--stdin'], 'not-the-password\n');
  t.equal(wrong.code, 1, 'a wrong manufacturer password is refused');
  t.ok((await statusJson(env)).stateFallback, 'and acknowledges nothing');
  const ack = await cli(env, ['acknowledge-fallback', '--stdin'], `${NEW_MANUFACTURER}\n`);
  t.equal(ack.code, 0, ack.stderr);
  s = await statusJson(env);
  t.equal(s.stateFallback, null, 'acknowledged');
  audit = await cli(env, ['audit', '--json']);
  t.notOk(
    (JSON.parse(audit.stdout) as { findings: Array<{ id: string }> }).findings.some((f) => f.id === 'state-fallback'),
    'the finding is gone',
  );
  const again = await cli(env, ['acknowledge-fallback', '--stdin'], `${NEW_MANUFACTURER}\n`);
  t.equal(again.code, 1, 'nothing left to acknowledge');
  t.match(again.stderr, /no state fallback/);
});

for (const [what, change, header] of [
  ['a newer state format (valid checksum)', (p: string) => p.replace('"format":1', '"format":2'), undefined],
  [
    'a newer state format with another header version',
    (p: string) => p.replace('"format":1', '"format":2'),
    (h: string) => h.replace('ccguard-state v1', 'ccguard-state v2'),
  ],
] as const) {
  t.test(`${what}: the daemon refuses to start, says why, and renames nothing`, async (t) => {
    const env = await makeEnv();
    t.teardown(() => cleanup(env));
    await provisionWithDefaults(env);
    const names = (await readdir(env.stateDir)).sort();
    const newest = join(env.stateDir, names.filter((n) => /^state\.\d+\.json$/.test(n)).pop() as string);
    await writeFile(newest, rewrite(await readFile(newest, 'utf8'), change, header));
    const before = (await readdir(env.stateDir)).sort();
    const daemon = await startDaemon(env, {}, false);
    const exit = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 15_000);
      daemon.proc.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    await daemon.stop();
    t.ok(exit !== null && exit !== 0, `the daemon exited by itself with an error (exit ${exit})`);
    t.match(daemon.output(), /written by a newer ccguard/);
    t.same((await readdir(env.stateDir)).sort(), before, 'no file renamed or removed');
  });
}

t.test('a flipped bit in a header line is damage, not a newer ccguard: the newest falls back, an older one never stops a start', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  let daemon = await startDaemon(env);
  t.equal((await cli(env, ['passwd', 'user', '--stdin'], `${DEFAULTS.user}\n${NEW_USER}\n`)).code, 0);
  await daemon.stop();
  const files = (await readdir(env.stateDir)).filter((n) => /^state\.\d+\.json$/.test(n)).sort();
  t.equal(files.length, 2, 'two generations kept');
  const older = join(env.stateDir, files[0] as string);
  const flip = async (file: string): Promise<void> => {
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('ccguard-state v1', 'ccguard-state v9')); // 0x31 ^ 0x08
  };

  // An older generation damaged: the newest is good, and the daemon starts on it.
  await flip(older);
  daemon = await startDaemon(env);
  let s = await statusJson(env);
  t.equal(s.stateFallback, null, 'no fallback: the newest generation is in use');
  t.equal((await cli(env, ['login', 'user', '--stdin'], `${NEW_USER}\n`)).code, 0);
  // One more change: the damaged older generation is dropped, a good previous one kept.
  t.equal((await cli(env, ['passwd', 'user', '--stdin'], `${NEW_USER}\n${NEW_MANUFACTURER}\n`)).code, 0);
  await daemon.stop();

  // The newest damaged in its header: the previous one is used and the fallback reported.
  const current = (await readdir(env.stateDir))
    .filter((n) => /^state\.\d+\.json$/.test(n))
    .sort()
    .pop() as string;
  await flip(join(env.stateDir, current));
  daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  s = await statusJson(env);
  t.match(s.stateFallback, { reason: /header/ }, 'a fallback, with the damaged header as the reason');
  t.ok((await readdir(env.stateDir)).includes(`${current}.corrupt`), 'the damaged file is set aside');
});
