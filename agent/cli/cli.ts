import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Argument, Command, CommanderError, Option } from 'commander';
import { EXPORT_ROLES, ROLES, SETTINGS_ROLES, type ExportRole, type Role, type SettingsRole } from '../../policy/roles.js';
import { WEB_UI_MODES, type WebUiMode } from '../../policy/web-ui.js';
import { call } from '../wire/client.js';
import { builtInConfig, loadConfig, SYSTEM_CONFIG_PATH, type Config } from '../common/config.js';
import { CcguardError, EXIT, exitCodeFor, InvalidInputError } from '../common/errors.js';
import { formatAudit, formatEvent, formatReaders, formatStatus, table } from './human-format.js';
import { AUDIT_SCHEMA, type AuditReport } from '../wire/audit-report.js';
import { bashCompletion } from './completion.js';
import { colourFor } from './terminal-style.js';
import type { SyncStatus } from '../sync/pusher.js';
import type { ParamsIn } from '../wire/protocol.js';
import type { MasterCardListing } from '../daemon/cards/master-cards.js';
import { readSecrets } from './secret-input.js';
import { VERSION } from '../common/version.js';

interface ClientOptions {
  socket?: string;
  stdin?: boolean;
  json?: boolean;
}

async function configFrom(path: string | undefined): Promise<Config> {
  return path ? loadConfig(path) : builtInConfig();
}

/** --socket, else CCGUARD_SOCKET, else the installed config's socket, else the built-in default. */
async function socketPath(options: ClientOptions): Promise<string> {
  if (options.socket) return options.socket;
  if (process.env.CCGUARD_SOCKET) return process.env.CCGUARD_SOCKET;
  if (existsSync(SYSTEM_CONFIG_PATH)) return (await loadConfig(SYSTEM_CONFIG_PATH)).socket;
  return builtInConfig().socket;
}

function print(value: unknown, json: boolean | undefined, human: (v: unknown) => string): void {
  process.stdout.write(`${json ? JSON.stringify(value) : human(value)}\n`);
}

function clientCommand(cmd: Command): Command {
  return cmd
    .addOption(new Option('--socket <path>', 'control socket of the daemon (else $CCGUARD_SOCKET, else the configured one)'))
    .addOption(new Option('--stdin', 'read secrets from standard input, one per line, instead of prompting'));
}

const roleArgument = (): Argument => new Argument('<role>', 'manufacturer, installer, operator or user').choices(ROLES);
/** A commander parser for a whole number in [min, max]; anything else is a usage error. */
const wholeNumber =
  (flag: string, min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new CommanderError(EXIT.usage, 'ccguard.usage', `${flag} takes a whole number from ${min} to ${max}`);
    }
    return n;
  };
const mib = (bytes: number): string =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const settingsRoleOption = (): Option => new Option('--as <role>', 'the role acting').choices(SETTINGS_ROLES).default('operator');
const onOffOption = (flag: string, what: string): Option => new Option(`${flag} <on|off>`, what).choices(['on', 'off']);

/**
 * ssh2 needs WebAssembly (its poly1305), which node without its JIT lacks: a command that uses it
 * runs again in a plain node (only client-side commands; the daemon uses a helper process).
 */
async function rerunWithJitForSsh2(): Promise<void> {
  if (!process.execArgv.includes('--jitless')) return;
  const child = spawn(process.execPath, [fileURLToPath(new URL('../main.js', import.meta.url)), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? EXIT.refused))));
}

function buildProgram(): Command {
  const program = new Command('ccguard')
    .description('Security agent of an EV charge controller: credentials, recovery paths, logs')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('daemon')
    .description('run the agent in the foreground (without --config: the built-in default config)')
    .option('--config <file>', 'JSON config file')
    .action(async (opts: { config?: string }) => {
      const { startDaemonProcess } = await import('../daemon/entry.js');
      await startDaemonProcess(opts.config ?? null);
    });

  program
    .command('provision')
    .description("create a new device's state with per-role default passwords")
    .option('--config <file>', 'JSON config file (else the built-in default config)')
    .option('--defaults <file>', 'JSON {"manufacturer": …, "installer": …, "operator": …, "user": …}; else random defaults are generated and printed once')
    .option('--force', 'replace an existing state (every password goes back to a new default)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { config?: string; defaults?: string; force?: boolean; json?: boolean }) => {
      const { provision, readDefaultsFile } = await import('./provision.js');
      const config = await configFrom(opts.config);
      const defaults = opts.defaults ? await readDefaultsFile(opts.defaults) : null;
      const result = await provision(config, { defaults, force: opts.force === true });
      const out = { stateDir: result.stateDir, generation: result.generation, defaults: result.generated };
      print(out, opts.json, () => {
        const lines = [`provisioned ${result.stateDir} (generation ${result.generation})`];
        if (result.generated) {
          lines.push('default passwords for the device label (shown only this once):');
          for (const role of ROLES) lines.push(`  ${role.padEnd(13)}${result.generated[role]}`);
        }
        lines.push('every role must change its default password at its first login');
        return lines.join('\n');
      });
    });

  clientCommand(program.command('status').description('show the state of the agent'))
    .option('--json', 'print one JSON object')
    .action(async (opts: ClientOptions) => {
      print(await call(await socketPath(opts), 'status', {}), opts.json, (v) => formatStatus(v, colourFor(process.stdout)));
    });

  clientCommand(program.command('login').description("check a role's password").addArgument(roleArgument())).action(
    async (role: Role, opts: ClientOptions) => {
      const [password] = await readSecrets([{ label: `Password for ${role}` }], opts.stdin === true);
      await call(await socketPath(opts), 'login', { role, password: password as string });
      process.stdout.write(`login accepted for ${role}\n`);
    },
  );

  clientCommand(
    program
      .command('passwd')
      .description("change a role's password (as the role itself, or as the manufacturer)")
      .addArgument(roleArgument())
      .addOption(new Option('--as <role>', 'set the password as this role instead of with the current password').choices(['manufacturer'])),
  ).action(async (role: Role, opts: ClientOptions & { as?: 'manufacturer' }) => {
    const socket = await socketPath(opts);
    if (opts.as) {
      const [asPassword, newPassword] = await readSecrets(
        [{ label: `Password for ${opts.as}` }, { label: `New password for ${role}`, confirm: true }],
        opts.stdin === true,
      );
      await call(socket, 'passwdAs', { role, as: opts.as, asPassword: asPassword as string, newPassword: newPassword as string });
    } else {
      const [currentPassword, newPassword] = await readSecrets(
        [{ label: `Current password for ${role}` }, { label: `New password for ${role}`, confirm: true }],
        opts.stdin === true,
      );
      await call(socket, 'passwd', { role, currentPassword: currentPassword as string, newPassword: newPassword as string });
    }
    process.stdout.write(`password changed for ${role}\n`);
  });

  const policy = program.command('policy').description('password policy settings (manufacturer)');
  clientCommand(policy.command('show').description('show the password policy'))
    .option('--json', 'print one JSON object')
    .action(async (opts: ClientOptions) => {
      print(await call(await socketPath(opts), 'policy.show', {}), opts.json, (v) => {
        const p = v as { enforceStrong: boolean; enforcePasswordChange: boolean };
        return `strong passwords: ${p.enforceStrong ? 'on' : 'off'}\nforced operator password change: ${p.enforcePasswordChange ? 'on' : 'off'}`;
      });
    });
  clientCommand(policy.command('set').description('change the password policy (manufacturer password)'))
    .addOption(onOffOption('--strong', 'require lower and upper case, digit, special character and a strength of 3 of 4'))
    .addOption(onOffOption('--force-change', 'the operator must change the password at the next login'))
    .option('--json', 'print the resulting policy as JSON')
    .action(async (opts: ClientOptions & { strong?: 'on' | 'off'; forceChange?: 'on' | 'off' }) => {
      if (opts.strong === undefined && opts.forceChange === undefined) {
        throw new CommanderError(EXIT.usage, 'ccguard.usage', 'give --strong on|off, --force-change on|off or both');
      }
      const [password] = await readSecrets([{ label: 'Password for manufacturer' }], opts.stdin === true);
      const result = await call(await socketPath(opts), 'policy.set', {
        password: password as string,
        ...(opts.strong ? { enforceStrong: opts.strong === 'on' } : {}),
        ...(opts.forceChange ? { enforcePasswordChange: opts.forceChange === 'on' } : {}),
      });
      print(result, opts.json, () => 'policy updated');
    });

  const webui = program.command('webui').description('web interface mode (1.0 legacy, 2.0, 2.0-only)');
  clientCommand(
    webui
      .command('set')
      .description('set the web interface mode; 2.0-only disables the legacy interface for good (that role\'s password)')
      .addArgument(new Argument('<mode>', '1.0, 2.0 or 2.0-only').choices(WEB_UI_MODES))
      .addOption(settingsRoleOption()),
  ).action(async (mode: WebUiMode, opts: ClientOptions & { as: SettingsRole }) => {
    const [password] = await readSecrets([{ label: `Password for ${opts.as}` }], opts.stdin === true);
    await call(await socketPath(opts), 'webui.set', { mode, as: opts.as, password: password as string });
    process.stdout.write(`web interface mode ${mode}\n`);
  });

  const https = program.command('https').description('HTTPS for the web interface and the device certificate');
  for (const [name, description] of [
    ['enable', 'switch HTTPS on (makes the key pair and certificate the first time)'],
    ['disable', 'switch HTTPS off'],
    ['rotate', 'make a new key pair and certificate'],
  ] as const) {
    clientCommand(https.command(name).description(`${description} (that role's password)`))
      .addOption(settingsRoleOption())
      .option('--json', 'print the result as JSON')
      .action(async (opts: ClientOptions & { as: SettingsRole }) => {
        const [password] = await readSecrets([{ label: `Password for ${opts.as}` }], opts.stdin === true);
        const socket = await socketPath(opts);
        const result =
          name === 'rotate'
            ? await call(socket, 'https.rotate', { as: opts.as, password: password as string })
            : await call(socket, 'https.set', { enabled: name === 'enable', as: opts.as, password: password as string });
        print(result, opts.json, (r) => {
          const cert = (r as { certificate: { sha256: string; notAfter: string } | null }).certificate;
          return `HTTPS ${name === 'disable' ? 'off' : 'on'}${cert ? `; certificate SHA-256 ${cert.sha256}, valid until ${cert.notAfter}` : ''}`;
        });
      });
  }

  webui
    .command('revert')
    .description("the manufacturer's way out of 2.0-only: delete the style file on a controller over SSH")
    .requiredOption('--host <host>', 'the controller')
    .option('--port <port>', 'SSH port', wholeNumber('--port', 1, 65_535), 22)
    .option('--user <user>', 'SSH user', 'charge')
    .option('--identity <key>', 'private key file (else ~/.ssh/id_ed25519, id_ecdsa, id_rsa)')
    .option('--known-hosts <file>', 'known_hosts file to check the host key against')
    .option('--accept-new-host-key', 'accept and record the key of a host not yet in known_hosts (never a changed key)')
    .option('--style-file <path>', 'the style file on the controller', '/persistency/WebUIStyle_web')
    .action(async (opts: { host: string; port: number; user: string; identity?: string; knownHosts?: string; acceptNewHostKey?: boolean; styleFile: string }) => {
      await rerunWithJitForSsh2();
      const { revertWebUi, DEFAULT_KNOWN_HOSTS } = await import('./ssh-revert.js');
      const result = await revertWebUi({
        host: opts.host,
        port: opts.port,
        user: opts.user,
        identity: opts.identity ?? null,
        knownHosts: opts.knownHosts ?? DEFAULT_KNOWN_HOSTS,
        acceptNewHostKey: opts.acceptNewHostKey === true,
        styleFile: opts.styleFile,
        timeoutMs: 15_000,
      });
      if (result.hostKey === 'recorded') process.stdout.write(`recorded the host key of ${opts.host} in known_hosts\n`);
      process.stdout.write(result.deleted ? `deleted ${opts.styleFile}: the web interface is back to its default (1.0)\n` : `${opts.styleFile} was already absent (default 1.0)\n`);
    });

  const puk = program.command('puk').description('Reset Password PUK: the operator recovery path');
  clientCommand(puk.command('set').description('set the PUK and restore its 10 tries (manufacturer password, then the PUK)'))
    .action(async (opts: ClientOptions) => {
      const [password, value] = await readSecrets(
        [{ label: 'Password for manufacturer' }, { label: 'New PUK (8-100 letters, digits, symbols)', confirm: true }],
        opts.stdin === true,
      );
      await call(await socketPath(opts), 'puk.set', { password: password as string, puk: value as string });
      process.stdout.write('PUK set; 10 tries\n');
    });
  clientCommand(puk.command('reset').description("set a new operator password with the PUK (the PUK, then the new password)"))
    .action(async (opts: ClientOptions) => {
      const [value, newPassword] = await readSecrets(
        [{ label: 'PUK' }, { label: 'New password for operator', confirm: true }],
        opts.stdin === true,
      );
      await call(await socketPath(opts), 'puk.reset', { puk: value as string, newPassword: newPassword as string });
      process.stdout.write('password changed for operator\n');
    });

  const masterCard = program.command('master-card').description('master RFID cards: a tap resets every password, a hold restores the manufacturer defaults');
  const manufacturerPassword = async (opts: ClientOptions): Promise<string> =>
    (await readSecrets([{ label: 'Password for manufacturer' }], opts.stdin === true))[0] as string;
  clientCommand(
    masterCard
      .command('enroll')
      .description('enrol a card presented twice on a reader (manufacturer password): an NTAG 424 DNA is personalised with this station\'s keys'),
  )
    .option('--reader <name>', 'the reader to present the card on, as "ccguard readers" names it (may be left out when only one is attached)')
    .option('--uid-only', 'enrol a plain card by its UID alone (it can be copied: prefer an NTAG 424 DNA)')
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the card').argParser(wholeNumber('--timeout', 1, 600)).default(60))
    .option('--json', 'print the result as JSON')
    .action(async (opts: ClientOptions & { timeout: number; reader?: string; uidOnly?: boolean }) => {
      const password = await manufacturerPassword(opts);
      process.stderr.write(`place the card on the reader, remove it and place it again within ${opts.timeout} s; leave it there until told…\n`);
      const params = { password, timeoutSeconds: opts.timeout, uidOnly: opts.uidOnly === true, ...(opts.reader === undefined ? {} : { reader: opts.reader }) };
      const result = await call(await socketPath(opts), 'masterCard.enroll', params, { timeoutMs: (opts.timeout + 30) * 1000 });
      print(result, opts.json, (v) => {
        const card = v as MasterCardListing;
        const kind = card.kind === 'ntag424' ? 'secure card, personalised' : 'UID only: it can be copied';
        return `enrolled master card ${card.id} (on ${card.reader}; ${kind}); the card may be removed`;
      });
    });
  clientCommand(masterCard.command('list').description('list the enrolled master cards (manufacturer password)'))
    .option('--json', 'print the list as JSON')
    .action(async (opts: ClientOptions) => {
      const password = await manufacturerPassword(opts);
      print(await call(await socketPath(opts), 'masterCard.list', { password }), opts.json, (v) => {
        const cards = (v as { masterCards: MasterCardListing[] }).masterCards;
        if (cards.length === 0) return 'no master card enrolled';
        return table(['ID', 'KIND', 'ENROLLED', 'READER'], cards.map((c) => [c.id, c.kind === 'ntag424' ? 'ntag424' : 'uidOnly (copyable)', c.enrolledAt, c.reader]));
      });
    });
  clientCommand(masterCard.command('remove').description('remove an enrolled master card (manufacturer password)'))
    .argument('<id>', 'the card id, as "ccguard master-card list" shows it')
    .action(async (id: string, opts: ClientOptions) => {
      const password = await manufacturerPassword(opts);
      const result = (await call(await socketPath(opts), 'masterCard.remove', { password, id })) as { removed: string; remaining: number };
      process.stdout.write(`removed master card ${result.removed}; ${result.remaining} left\n`);
    });

  const defaults = program.command('defaults').description('the manufacturer defaults a master card hold restores');
  clientCommand(defaults.command('save').description('save the current settings as the manufacturer defaults (manufacturer password)'))
    .option('--json', 'print the result as JSON')
    .action(async (opts: ClientOptions) => {
      const password = await manufacturerPassword(opts);
      print(await call(await socketPath(opts), 'defaults.save', { password }), opts.json, (v) => {
        const saved = v as { savedAt: string; masterCards: number };
        return `manufacturer defaults saved (${saved.savedAt}, ${saved.masterCards} master card${saved.masterCards === 1 ? '' : 's'})`;
      });
    });

  clientCommand(program.command('readers').description('list the card readers and whether a (master) card is on them'))
    .option('--json', 'print the readers as JSON')
    .action(async (opts: ClientOptions) => {
      print(await call(await socketPath(opts), 'readers', {}), opts.json, formatReaders);
    });

  const logPassword = program.command('log-password').description('the Log Password that exported logs are encrypted with');
  clientCommand(logPassword.command('set').description('set the Log Password (manufacturer password, then the Log Password)'))
    .action(async (opts: ClientOptions) => {
      const [password, value] = await readSecrets(
        [{ label: 'Password for manufacturer' }, { label: 'New Log Password (at least 12 characters)', confirm: true }],
        opts.stdin === true,
      );
      await call(await socketPath(opts), 'logPassword.set', { password: password as string, logPassword: value as string });
      process.stdout.write('Log Password set: exported logs are encrypted with it (AES-256; open them with 7-Zip)\n');
    });

  const logs = program.command('logs').description('the station\'s logs');
  clientCommand(logs.command('export').description('export every log as a zip, AES-256 encrypted with the Log Password (that role\'s password)'))
    .requiredOption('--output <file>', 'the zip to write')
    .addOption(new Option('--as <role>', 'the role exporting').choices(EXPORT_ROLES).default('operator'))
    .option('--unencrypted', 'export in the clear when no Log Password is set (recorded as a security event)')
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'print the result as JSON')
    .action(async (opts: ClientOptions & { output: string; as: ExportRole; unencrypted?: boolean; force?: boolean }) => {
      const { exportToFile } = await import('./export-command.js');
      const [password] = await readSecrets([{ label: `Password for ${opts.as}` }], opts.stdin === true);
      const result = await exportToFile(await socketPath(opts), {
        output: opts.output,
        as: opts.as,
        password: password as string,
        unencrypted: opts.unencrypted === true,
        replace: opts.force === true,
      });
      print(result, opts.json, () =>
        `wrote ${result.output}: ${result.files} log files, ${mib(result.logBytes)} of logs in ${mib(result.zipBytes)}, ` +
        (result.encrypted ? 'AES-256 encrypted with the Log Password (open it with 7-Zip)' : 'NOT encrypted'),
      );
    });

  program
    .command('events')
    .description('show the security event log')
    .addOption(new Option('--socket <path>', 'control socket of the daemon'))
    .option('--follow', 'keep printing new events as they happen')
    .option('--json', 'one JSON object per line')
    .option('--limit <n>', 'how many past events to show', wholeNumber('--limit', 1, 10_000), 100)
    .action(async (opts: ClientOptions & { follow?: boolean; limit: number }) => {
      const show = (event: unknown): void => print(event, opts.json, formatEvent);
      const showPast = (result: unknown): void => {
        for (const event of (result as { events: unknown[] }).events) show(event);
      };
      const params = { follow: opts.follow === true, limit: opts.limit };
      const socket = await socketPath(opts);
      if (opts.follow) await call(socket, 'events', params, { onEvent: show, onResult: showPast });
      else showPast(await call(socket, 'events', params));
    });

  const sync = program.command('sync').description("double stations: keep the slave controller's credentials identical over SSH");
  clientCommand(sync.command('status').description('the slave, the last pushed and acknowledged revision, and the last error'))
    .option('--json', 'print the status as JSON')
    .action(async (opts: ClientOptions) => {
      print(await call(await socketPath(opts), 'sync.status', {}), opts.json, (v) => {
        const s = v as SyncStatus;
        return table(
          ['', ''],
          [
            ['peer', s.peer],
            ['state', s.inSync ? 'in sync' : 'OUT OF SYNC'],
            ['revision', String(s.revision ?? '-')],
            ['last pushed', String(s.lastPushedRevision ?? '-')],
            ['last acknowledged', `${s.lastAckedRevision ?? '-'}${s.lastAckAt ? ` (${s.lastAckAt})` : ''}`],
            ['last error', s.lastError ? `${s.lastError} (${s.lastErrorAt})` : '-'],
            ...(s.nextRetryInSeconds !== null ? [['next retry', `in ${s.nextRetryInSeconds} s`]] : []),
          ],
        ).replace(/^.*\n/, '');
      });
    });
  sync
    .command('keygen')
    .description("make the master's sync key (once) and print what to install on the slave")
    .option('--config <file>', `the master's config, whose sync.peer.privateKeyFile is written (else ${SYSTEM_CONFIG_PATH})`)
    .option('--force', 'replace an existing key (the slave then needs the new line)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { config?: string; force?: boolean; json?: boolean }) => {
      await rerunWithJitForSsh2();
      const config = await loadConfig(opts.config ?? SYSTEM_CONFIG_PATH);
      if (!config.sync.peer) throw new InvalidInputError(`${opts.config ?? SYSTEM_CONFIG_PATH} has no sync.peer: set its host, user and privateKeyFile first`);
      const { syncKeygen } = await import('../sync/keygen.js');
      const key = await syncKeygen(config.sync.peer.privateKeyFile, config.sync.peer.command, opts.force === true);
      print(key, opts.json, () =>
        [
          `${key.created ? 'made' : 'kept'} the sync key ${key.privateKeyFile}`,
          '',
          `on the slave, in the sync user's authorized_keys:`,
          key.authorizedKeysLine,
          '',
          'in the slave\'s config:',
          JSON.stringify(key.slaveConfig),
        ].join('\n'),
      );
    });
  clientCommand(sync.command('receive').description("the slave's side, run by sshd for the master's key: applies one push read on stdin"))
    .action(async (opts: ClientOptions) => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      let envelope: unknown;
      try {
        envelope = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        process.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'invalid', message: 'the push is not JSON' } })}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      try {
        const result = await call(await socketPath(opts), 'sync.apply', { envelope: envelope as ParamsIn<'sync.apply'>['envelope'] }, { origin: 'ssh' });
        process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
      } catch (err) {
        const code = err instanceof CcguardError ? err.code : 'internal';
        process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message: (err as Error).message } })}\n`);
        process.exitCode = err instanceof CcguardError ? exitCodeFor(err.code) : EXIT.refused;
      }
    });

  clientCommand(program.command('audit').description('check the station against the security tips; exit 1 when a high finding is open'))
    .option('--json', `print the report as JSON (${AUDIT_SCHEMA}, schemas/audit.schema.json)`)
    .action(async (opts: ClientOptions) => {
      const report = (await call(await socketPath(opts), 'audit', {})) as AuditReport;
      print(report, opts.json, (v) => formatAudit(v as AuditReport, colourFor(process.stdout)));
      if (!report.passed) process.exitCode = EXIT.refused;
    });

  clientCommand(
    program
      .command('acknowledge-fallback')
      .description('the manufacturer acknowledges a state fallback that "ccguard audit" reports, after checking what it may have undone'),
  ).action(async (opts: ClientOptions) => {
    const [password] = await readSecrets([{ label: 'Password for manufacturer' }], opts.stdin === true);
    const result = (await call(await socketPath(opts), 'audit.acknowledgeFallback', { password: password as string })) as { acknowledged: { lostGeneration: number } };
    print(result, opts.json, () => `state fallback acknowledged (generation ${result.acknowledged.lostGeneration} was lost)`);
  });

  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash']))
    .action(() => {
      process.stdout.write(bashCompletion(program));
    });

  return program;
}

/** Runs the CLI and exits with the contract's exit code. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Exit at once: a daemon that failed to start may hold open log files or timers.
    process.exit(reportError(err));
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    if (err.code === 'ccguard.usage') process.stderr.write(`ccguard: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof CcguardError) {
    process.stderr.write(`ccguard: ${err.message}\n`);
    return exitCodeFor(err.code);
  }
  process.stderr.write(`ccguard: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.refused;
}
