// The no-echo prompt on a real terminal (script(1) gives the CLI a pseudo-terminal): each secret is
// typed only once its prompt shows, nothing typed is echoed, Backspace edits, and a confirmation
// that differs is refused. The project's own prompt replaced the `read` package (Node 20.11, issue 25).
import { spawn } from 'node:child_process';
import t from 'tap';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../../support/harness.js';

const NEW = 'Harbor-Violet-46-Quill';

/** Runs `ccguard ARGS` on a terminal, typing each answer after the prompt that asks for it. */
function onTerminal(env: Env, args: string[], answers: Array<[RegExp, string]>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', `${BIN} ${args.join(' ')}`, '/dev/null'], {
      env: { ...process.env, CCGUARD_SOCKET: env.socket },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let next = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const answer = answers[next];
      if (answer && answer[0].test(out.slice(out.lastIndexOf('\n') + 1))) {
        next++;
        child.stdin.write(answer[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

t.test('passwd on a terminal: prompts without echo, Backspace, confirmation', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());

  const differ = await onTerminal(
    env,
    ['passwd', 'operator'],
    [
      [/Current password for operator: $/, `${DEFAULTS.operator}\r`],
      [/New password for operator: $/, `${NEW}\r`],
      [/New password for operator \(again\): $/, `${NEW}x\r`],
    ],
  );
  t.equal(differ.code, 2, `a confirmation that differs is refused: ${differ.out}`);
  t.match(differ.out, /the two entries differ/);

  // A typing error corrected with Backspace (DEL) before Enter.
  const r = await onTerminal(
    env,
    ['passwd', 'operator'],
    [
      [/Current password for operator: $/, `${DEFAULTS.operator}Q\x7f\r`],
      [/New password for operator: $/, `${NEW}\r`],
      [/New password for operator \(again\): $/, `${NEW}\r`],
    ],
  );
  t.equal(r.code, 0, r.out);
  t.match(r.out, /password changed for operator/);
  for (const secret of [DEFAULTS.operator, NEW]) t.notOk(r.out.includes(secret), 'nothing typed is echoed');
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${NEW}\n`)).code, 0, 'the new password is the one typed');
});
