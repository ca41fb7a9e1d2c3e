// A private pcscd with one vpcd entry (two virtual readers) and virtual contactless cards.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './harness.js';
import { freePortPair } from './ports.js';

const run = promisify(execFile);
const FIXTURES = join(ROOT, 'test', 'support', 'fixtures');
const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';
const VICC_MODULE = '/usr/lib/python3/site-packages/virtualsmartcard';
const PID_FILE = '/run/pcscd/pcscd.pid';

/** Fails with the packages to install when a part of the PC/SC peer is missing. */
export function requirePcscPeer(): void {
  const missing: string[] = [];
  if (!existsSync('/usr/sbin/pcscd')) missing.push('pcscd');
  if (!existsSync(VPCD_DRIVER)) missing.push('vsmartcard-vpcd');
  if (!existsSync(VICC_MODULE)) missing.push('python3-virtualsmartcard');
  if (!existsSync('/usr/bin/pcsc_scan')) missing.push('pcsc-tools');
  if (missing.length > 0) throw new Error(`the PC/SC test peer needs Debian packages: apt-get install ${missing.join(' ')}`);
}

/** Fails with the packages to install when the virtual NTAG 424 DNA or its test client cannot run. */
export function requireNtag424Peer(): void {
  requirePcscPeer();
  const missing = Object.entries(NTAG424_MODULES)
    .filter(([, path]) => !existsSync(path))
    .map(([pkg]) => pkg);
  if (missing.length > 0) throw new Error(`the virtual NTAG 424 DNA needs Debian packages: apt-get install ${missing.join(' ')}`);
}

/** Debian package -> the module it installs for /usr/bin/python3. */
const NTAG424_MODULES = {
  'python3-pycryptodome': '/usr/lib/python3/dist-packages/Cryptodome',
  'python3-pyscard': '/usr/lib/python3/dist-packages/smartcard',
  'python3-cryptography': '/usr/lib/python3/dist-packages/cryptography',
};

export interface VirtualCard {
  /** Kills the card process: the card leaves the reader. */
  remove(): Promise<void>;
  /**
   * Sends the card process a signal. The virtual NTAG 424 DNA (ntag424_card.py) takes SIGUSR1 as
   * "an emulator with the same UID replaces the card" and SIGUSR2 as "goes mute", with no removal.
   */
  signal(sig: 'SIGUSR1' | 'SIGUSR2'): void;
}

/** Fault modes of the virtual NTAG 424 DNA (see test/support/fixtures/ntag424_card.py). */
export type Ntag424Fault = `mute-after=${number}` | `exit-after=${number}` | 'wrong-key' | 'uid-only' | `slow=${number}`;

export interface Ntag424Options {
  slot?: 0 | 1;
  /** JSON file with the card's UID and keys. */
  state: string;
  /** 7 bytes in hex; needed when the state file does not exist yet. */
  uid?: string;
  faults?: Ntag424Fault[];
  /** Test only: the card's challenge and transaction identifier, to replay AN12196's examples. */
  fixedRndB?: string;
  fixedTi?: string;
}

export class PcscPeer {
  #pcscd: ChildProcess | null = null;
  #cards = new Set<ChildProcess>();
  #log = '';

  private constructor(
    readonly dir: string,
    readonly socket: string,
    readonly port: number,
  ) {}

  /** Like `start`, retried: pcscd writes one pid file for every private pcscd, and another test's may hold it a moment. */
  static async startWithRetry(dir: string): Promise<PcscPeer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await PcscPeer.start(dir);
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  static async start(dir: string): Promise<PcscPeer> {
    requirePcscPeer();
    const conf = join(dir, 'reader.conf.d');
    await mkdir(conf, { recursive: true });
    const port = await freePortPair();
    // One entry only: several vpcd entries in one pcscd share slot state (test-peers.md).
    await writeFile(
      join(conf, 'vpcd'),
      [`FRIENDLYNAME "Virtual PCD"`, `DEVICENAME /dev/null:${port}`, `LIBPATH ${VPCD_DRIVER}`, `CHANNELID ${port}`, ''].join('\n'),
    );
    const peer = new PcscPeer(dir, join(dir, 'pcscd.sock'), port);
    await peer.startPcscd();
    return peer;
  }

  /** Environment for a PC/SC client (the daemon) to use this pcscd. */
  get env(): NodeJS.ProcessEnv {
    return { PCSCLITE_CSOCK_NAME: this.socket };
  }

  /** The two readers vpcd offers: slot 0 on `port`, slot 1 on `port + 1`. */
  static readonly READERS = ['Virtual PCD 00 00', 'Virtual PCD 00 01'] as const;

  async startPcscd(): Promise<void> {
    await removeStalePidFile();
    const proc = spawn('/usr/bin/python3', [join(FIXTURES, 'pcscd_activate.py'), this.socket, join(this.dir, 'reader.conf.d')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (d: Buffer) => (this.#log += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.#log += d.toString()));
    this.#pcscd = proc;
    const deadline = performance.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`pcscd exited with ${proc.exitCode}: ${this.#log}`);
      const scan = await run('/usr/bin/pcsc_scan', ['-r'], { env: { ...process.env, ...this.env }, timeout: 3000 }).catch(() => null);
      if (scan?.stdout.includes(PcscPeer.READERS[0])) return;
      if (performance.now() > deadline) throw new Error(`pcscd did not offer the vpcd readers within 10 s: ${this.#log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kills pcscd (as a crash would); every client sees the service go away. */
  async killPcscd(): Promise<void> {
    const proc = this.#pcscd;
    this.#pcscd = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }

  /** Places a card with this UID on reader `slot` (0 or 1); a mute card never answers an APDU. */
  async placeCard(uidHex: string, options: { slot?: 0 | 1; mute?: boolean } = {}): Promise<VirtualCard> {
    return this.#startCard([join(FIXTURES, 'uid_card.py'), String(this.port + (options.slot ?? 0)), uidHex, ...(options.mute ? ['--mute'] : [])]);
  }

  /**
   * Places a virtual NTAG 424 DNA (test/support/fixtures/ntag424_card.py) on reader `slot`. Its keys live in
   * `options.state`: a missing file is a factory-fresh card, the same file is the same card placed again.
   */
  async placeNtag424(options: Ntag424Options): Promise<VirtualCard> {
    requireNtag424Peer();
    const args = [join(FIXTURES, 'ntag424_card.py'), '--port', String(this.port + (options.slot ?? 0)), '--state', options.state];
    if (options.uid !== undefined) args.push('--uid', options.uid);
    for (const fault of options.faults ?? []) args.push('--fault', fault);
    if (options.fixedRndB !== undefined) args.push('--fixed-rndb', options.fixedRndB);
    if (options.fixedTi !== undefined) args.push('--fixed-ti', options.fixedTi);
    return this.#startCard(args);
  }

  async #startCard(args: string[]): Promise<VirtualCard> {
    const proc = spawn('/usr/bin/python3', args, {
      env: { ...process.env, PYTHONPATH: `${VICC_MODULE}:${join(FIXTURES, 'python')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#cards.add(proc);
    let output = '';
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('placed')) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`virtual card exited with ${code}: ${output}`)));
    });
    return {
      signal: (sig) => {
        proc.kill(sig);
      },
      remove: async () => {
        this.#cards.delete(proc);
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((resolve) => proc.on('exit', resolve));
        proc.kill('SIGKILL');
        await exited;
      },
    };
  }

  async stop(): Promise<void> {
    for (const card of this.#cards) card.kill('SIGKILL');
    this.#cards.clear();
    await this.killPcscd();
    await rm(this.socket, { force: true });
  }
}

/** pcscd refuses to start over a pid file whose process is gone (left by a crash). */
async function removeStalePidFile(): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(PID_FILE, 'utf8')).trim());
  } catch {
    return;
  }
  try {
    if (pid > 0) process.kill(pid, 0);
  } catch {
    await rm(PID_FILE, { force: true });
  }
}
