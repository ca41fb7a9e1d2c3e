// A real OpenSSH sshd on 127.0.0.1 with its own host key and one authorised client key.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  port: number;
  user: string;
  clientKey: string;
  /** The host key's public line: `ssh-ed25519 BASE64 comment`. */
  hostPublicKey: string;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Replaces the test client key as the only authorized key (a full authorized_keys line). */
  authorizedKeys?: string;
  /** sshd's ForceCommand. */
  forceCommand?: string;
  /** Listen on this port (to bring a stopped sshd back where clients expect it). */
  port?: number;
}

/** A slave's sshd to be: its directory with a host key, the key's line to pin, and a free port. */
export async function prepareSshd(parent: string): Promise<{ dir: string; hostKey: string; port: number }> {
  const dir = join(parent, 'sshd');
  await mkdir(dir, { recursive: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  return { dir, hostKey: (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim(), port: await freePort() };
}

export async function startSshd(dir: string, options: SshdOptions = {}): Promise<Sshd> {
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation directory
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, 'host_key'))) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  if (!existsSync(join(dir, 'client_key'))) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  await writeFile(join(dir, 'authorized_keys'), options.authorizedKeys ?? (await readFile(join(dir, 'client_key.pub'))));
  const port = options.port ?? (await freePort());
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      'PidFile none',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'AuthenticationMethods publickey',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      ...(options.forceCommand ? [`ForceCommand ${options.forceCommand}`] : []),
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`sshd did not start: ${err}`)), 10_000);
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(`Server listening on 127.0.0.1 port ${port}.`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => reject(new Error(`sshd exited with ${code}: ${err}`)));
  });
  return {
    port,
    user: userInfo().username,
    clientKey: join(dir, 'client_key'),
    hostPublicKey: (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim(),
    stop: async () => {
      proc.kill('SIGTERM');
      if (proc.exitCode === null) await new Promise((resolve) => proc.on('exit', resolve));
    },
  };
}
