// A Debian container with systemd as PID 1 (test-peers.md "systemd as PID 1 in a container"): the
// cached rootfs (test/support/debian-root.sh) under a per-run overlay, so reruns start in seconds and
// leave the cache untouched; systemd-nspawn launched from its own cgroup with --keep-unit (the host's
// PID 1 is not systemd); commands run inside through nsenter.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './harness.js';

const run = promisify(execFile);
const CGROUP_ROOTS = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  input?: string;
  /** Run as this user (name inside the container), with its groups. */
  user?: string;
  timeoutMs?: number;
}

/** A cached Debian tree (built once, ~2 min; then found at once). */
export async function debianRoot(kind: 'system' | 'sysroot-arm64' | 'sysroot-armhf'): Promise<string> {
  const { stdout } = await run('bash', [join(ROOT, 'test', 'support', 'debian-root.sh'), kind], { maxBuffer: 1 << 20 });
  return stdout.trim().split('\n').at(-1) as string;
}

export interface ContainerOptions {
  /** A network namespace to join (/run/netns/NAME); default: a private one with only loopback. */
  netns?: string;
}

export class SystemdContainer {
  readonly name = `ccguard-test-${randomBytes(4).toString('hex')}`;
  #nspawn: ChildProcess | null = null;
  #exit: Promise<number | null> = Promise.resolve(null);
  #init = 0;
  #log = '';

  private constructor(
    private readonly dir: string,
    readonly root: string,
    private readonly options: ContainerOptions,
  ) {}

  /** Boots a fresh container from the cached rootfs; resolves when systemd reports the system up. */
  static async boot(options: ContainerOptions = {}): Promise<SystemdContainer> {
    const lower = await debianRoot('system');
    const dir = await mkdtemp('/var/tmp/ccguard-system-');
    for (const d of ['upper', 'work', 'root']) await mkdir(join(dir, d));
    const merged = join(dir, 'root');
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, merged]);
    const c = new SystemdContainer(dir, merged, options);
    await c.start();
    return c;
  }

  /** The pid of the container's systemd (PID 1 inside), as the host sees it. */
  get initPid(): number {
    return this.#init;
  }

  /** What nspawn and the container's console printed (for failure messages). */
  get log(): string {
    return this.#log;
  }

  async start(): Promise<void> {
    for (const r of CGROUP_ROOTS) await mkdir(join(r, this.name), { recursive: true });
    const network = this.options.netns ? [`--network-namespace-path=${this.options.netns}`] : ['--private-network'];
    // The shell moves itself into the new cgroups, then becomes nspawn (same pid): without a
    // cgroup of its own, nspawn --keep-unit on a host without systemd cannot find its scope.
    const script = [
      ...CGROUP_ROOTS.map((r) => `echo $$ > ${join(r, this.name, 'cgroup.procs')}`),
      `exec systemd-nspawn -D ${this.root} -b --machine=${this.name} --register=no --keep-unit --console=pipe ${network.join(' ')}`,
    ].join('\n');
    const proc = spawn('bash', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#nspawn = proc;
    proc.stdout?.on('data', (d: Buffer) => (this.#log += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.#log += d.toString()));
    this.#exit = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    this.#init = 0;
    while (this.#init === 0) {
      if (proc.exitCode !== null) throw new Error(`systemd-nspawn exited with ${proc.exitCode}: ${this.#log.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`no systemd in the container within 30 s: ${this.#log.slice(-2000)}`);
      const found = await run('pgrep', ['-P', String(proc.pid), '-x', 'systemd']).catch(() => ({ stdout: '' }));
      this.#init = Number(found.stdout.trim().split('\n')[0]) || 0;
      if (this.#init === 0) await sleep(50);
    }
    let state = '';
    while (!['running', 'degraded'].includes(state)) {
      if (Date.now() > deadline) throw new Error(`the container's systemd is "${state}" after 30 s: ${this.#log.slice(-2000)}`);
      state = (await this.exec(['systemctl', 'is-system-running'])).stdout.trim();
      if (!['running', 'degraded'].includes(state)) await sleep(100);
    }
  }

  /** A command inside the container (all its namespaces), with a clean environment. */
  exec(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const asUser = opts.user ? ['setpriv', `--reuid=${opts.user}`, `--regid=${opts.user}`, '--init-groups', '--'] : [];
    const home = opts.user ? '/tmp' : '/root';
    const args = ['-t', String(this.#init), '--all', '--', 'env', '-i', `PATH=${PATH}`, `HOME=${home}`, 'LANG=C.UTF-8', ...asUser, ...cmd];
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input ?? '');
    });
  }

  /** A file into the container's tree (host path → container path). */
  async put(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const target = join(this.root, path);
    await writeFile(target, content, { mode });
  }

  async read(path: string): Promise<string> {
    return readFile(join(this.root, path), 'utf8');
  }

  /** `systemctl show -p …` as an object. */
  async show(unit: string, props: string[]): Promise<Record<string, string>> {
    const r = await this.exec(['systemctl', 'show', unit, ...props.flatMap((p) => ['-p', p])]);
    return Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  /** `systemctl reboot` inside; nspawn exits (133) and is started again on the same tree. */
  async reboot(): Promise<void> {
    await this.exec(['systemctl', 'reboot', '--no-block']);
    const code = await Promise.race([this.#exit, sleep(60_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') throw new Error(`the container did not reboot within 60 s: ${this.#log.slice(-2000)}`);
    await this.#removeCgroups();
    await this.start();
  }

  /** Powers off (nspawn's SIGTERM is systemd's poweroff), then removes the overlay and cgroups. */
  async destroy(): Promise<void> {
    const proc = this.#nspawn;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const done = await Promise.race([this.#exit.then(() => true), sleep(30_000).then(() => false)]);
      if (!done) {
        proc.kill('SIGKILL');
        await this.#exit;
      }
    }
    await run('umount', [this.root]).catch(() => run('umount', ['-l', this.root]));
    await this.#removeCgroups();
    await rm(this.dir, { recursive: true, force: true });
  }

  async #removeCgroups(): Promise<void> {
    for (const r of CGROUP_ROOTS) {
      // systemd inside made its own cgroups below ours; a cgroup directory is removed with rmdir, deepest first.
      await run('find', [join(r, this.name), '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']).catch(() => undefined);
    }
  }
}

/**
 * Two network namespaces joined by a veth pair, for a double station's two controllers: the
 * master at 192.168.100.1, the slave at 192.168.100.2 (the address in packaging/sync-master.conf).
 * Private to the test: nothing routes out of them.
 */
export class StationLink {
  private constructor(readonly id: string) {}

  get masterNs(): string {
    return `/run/netns/ccg-m-${this.id}`;
  }
  get slaveNs(): string {
    return `/run/netns/ccg-s-${this.id}`;
  }

  static async create(): Promise<StationLink> {
    const link = new StationLink(randomBytes(3).toString('hex'));
    const [m, s] = [`ccg-m-${link.id}`, `ccg-s-${link.id}`];
    const ip = (...args: string[]) => run('ip', args);
    await ip('netns', 'add', m);
    await ip('netns', 'add', s);
    await ip('link', 'add', `cm${link.id}`, 'netns', m, 'type', 'veth', 'peer', 'name', `cs${link.id}`, 'netns', s);
    for (const [ns, dev, addr] of [
      [m, `cm${link.id}`, '192.168.100.1/24'],
      [s, `cs${link.id}`, '192.168.100.2/24'],
    ] as const) {
      await ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
      await ip('-n', ns, 'link', 'set', dev, 'up');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    return link;
  }

  async destroy(): Promise<void> {
    for (const ns of [`ccg-m-${this.id}`, `ccg-s-${this.id}`]) await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  }
}
