import { Argument, type Command } from 'commander';
import type { SettingsRole } from '../../../policy/roles.js';
import { WEB_UI_MODES, type WebUiMode } from '../../../policy/web-ui.js';
import { call } from '../../wire/client.js';
import type { ResultOf } from '../../wire/protocol.js';
import { readSecrets } from '../secret-input.js';
import { clientCommand, manufacturerPassword, print, rerunWithJitForSsh2, settingsRoleOption, socketPath, wholeNumber, type ClientOptions } from './common.js';

/** The web interface mode (and the manufacturer's SSH way out of 2.0-only), HTTPS, the manufacturer defaults. */

export function webUiCommand(program: Command): void {
  const webui = program.command('webui').description('web interface mode (1.0 legacy, 2.0, 2.0-only)');
  clientCommand(
    webui
      .command('set')
      .description("set the web interface mode; 2.0-only disables the legacy interface for good (that role's password)")
      .addArgument(new Argument('<mode>', '1.0, 2.0 or 2.0-only').choices(WEB_UI_MODES))
      .addOption(settingsRoleOption()),
  ).action(async (mode: WebUiMode, opts: ClientOptions & { as: SettingsRole }) => {
    const [password] = await readSecrets([{ label: `Password for ${opts.as}` }], opts.stdin === true);
    await call(await socketPath(opts), 'webui.set', { mode, as: opts.as, password: password as string });
    process.stdout.write(`web interface mode ${mode}\n`);
  });

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
    .action(
      async (opts: { host: string; port: number; user: string; identity?: string; knownHosts?: string; acceptNewHostKey?: boolean; styleFile: string }) => {
        await rerunWithJitForSsh2();
        const { revertWebUi, DEFAULT_KNOWN_HOSTS } = await import('../ssh-revert.js');
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
        process.stdout.write(
          result.deleted
            ? `deleted ${opts.styleFile}: the web interface is back to its default (1.0)\n`
            : `${opts.styleFile} was already absent (default 1.0)\n`,
        );
      },
    );
}

export function httpsCommand(program: Command): void {
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
        const result: ResultOf<'https.rotate' | 'https.set'> =
          name === 'rotate'
            ? await call(socket, 'https.rotate', { as: opts.as, password: password as string })
            : await call(socket, 'https.set', { enabled: name === 'enable', as: opts.as, password: password as string });
        print(
          result,
          opts.json,
          ({ certificate: cert }) =>
            `HTTPS ${name === 'disable' ? 'off' : 'on'}${cert ? `; certificate SHA-256 ${cert.sha256}, valid until ${cert.notAfter}` : ''}`,
        );
      });
  }
}

export function defaultsCommand(program: Command): void {
  const defaults = program.command('defaults').description('the manufacturer defaults a master card hold restores');
  clientCommand(defaults.command('save').description('save the current settings as the manufacturer defaults (manufacturer password)'))
    .option('--json', 'print the result as JSON')
    .action(async (opts: ClientOptions) => {
      const password = await manufacturerPassword(opts);
      print(
        await call(await socketPath(opts), 'defaults.save', { password }),
        opts.json,
        (saved) => `manufacturer defaults saved (${saved.savedAt}, ${saved.masterCards} master card${saved.masterCards === 1 ? '' : 's'})`,
      );
    });
}
