// A hostile local client beside the rightful user: another uid (nobody) in the socket's group, as
// a compromised web server would be. A test run as one uid cannot see a lockout of another.
import { spawn } from 'node:child_process';
import { chmod, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BIN, type CliResult, type Env } from './harness.js';

/** nobody: the uid a stranger runs as. */
export const ATTACKER_UID = 65534;

/**
 * Lets another uid reach the test daemon's socket, as the installed daemon's group does: the
 * socket's directory searchable by others (mkdtemp makes it 0700). Returns the socket's gid,
 * the group the attacker is given.
 */
export async function openToOtherUids(env: Env): Promise<number> {
  for (let dir = dirname(env.socket); dir.startsWith(env.dir); dir = dirname(dir)) {
    await chmod(dir, 0o711);
    if (dir === env.dir) break;
  }
  return (await stat(env.socket)).gid;
}

/** `setpriv` arguments that run a command as `uid` with the socket's group and no other. */
export function asUid(uid: number, gid: number): string[] {
  // env -u: the test runner re-adds its hooks to every child's NODE_OPTIONS; as another uid they
  // would write into the checkout (and fail), so the stranger's node starts without them.
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', 'env', '-u', 'NODE_OPTIONS'];
}

/** Runs the real CLI as another uid; `stdin` holds the secrets' lines. */
export function cliAs(uid: number, gid: number, env: Env, args: string[], stdin = ''): Promise<CliResult> {
  return run([...asUid(uid, gid), BIN, ...args], { CCGUARD_SOCKET: env.socket }, stdin);
}

/** Runs a Node script (ES module text) as another uid, with `args` as its argv after the script. */
export function nodeAs(uid: number, gid: number, script: string, args: string[] = []): Promise<CliResult> {
  return run([...asUid(uid, gid), process.execPath, '--input-type=module', '-e', script, '--', ...args], {}, '');
}

function run(argv: string[], extraEnv: NodeJS.ProcessEnv, stdin: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command, ...rest] = argv as [string, ...string[]];
    const child = spawn(command, rest, { env: { ...process.env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`${command} failed to start (${err.message}); setpriv is in Debian's util-linux`)));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}
