import { CommanderError, Option, type Command } from 'commander';
import type { Role } from '../../../policy/roles.js';
import { EXIT } from '../../common/errors.js';
import { call } from '../../wire/client.js';
import { readSecrets } from '../secret-input.js';
import { clientCommand, onOffOption, print, roleArgument, socketPath, type ClientOptions } from './common.js';

/** Logins, passwords, the password policy, the PUK and the Log Password. */

export function loginCommand(program: Command): void {
  clientCommand(program.command('login').description("check a role's password").addArgument(roleArgument())).action(async (role: Role, opts: ClientOptions) => {
    const [password] = await readSecrets([{ label: `Password for ${role}` }], opts.stdin === true);
    await call(await socketPath(opts), 'login', { role, password: password as string });
    process.stdout.write(`login accepted for ${role}\n`);
  });
}

export function passwdCommand(program: Command): void {
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
}

export function policyCommand(program: Command): void {
  const policy = program.command('policy').description('password policy settings (manufacturer)');
  clientCommand(policy.command('show').description('show the password policy'))
    .option('--json', 'print one JSON object')
    .action(async (opts: ClientOptions) => {
      print(
        await call(await socketPath(opts), 'policy.show', {}),
        opts.json,
        (p) => `strong passwords: ${p.enforceStrong ? 'on' : 'off'}\nforced operator password change: ${p.enforcePasswordChange ? 'on' : 'off'}`,
      );
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
}

export function pukCommand(program: Command): void {
  const puk = program.command('puk').description('Reset Password PUK: the operator recovery path');
  clientCommand(puk.command('set').description('set the PUK and restore its 10 tries (manufacturer password, then the PUK)')).action(
    async (opts: ClientOptions) => {
      const [password, value] = await readSecrets(
        [{ label: 'Password for manufacturer' }, { label: 'New PUK (8-100 letters, digits, symbols)', confirm: true }],
        opts.stdin === true,
      );
      await call(await socketPath(opts), 'puk.set', { password: password as string, puk: value as string });
      process.stdout.write('PUK set; 10 tries\n');
    },
  );
  clientCommand(puk.command('reset').description('set a new operator password with the PUK (the PUK, then the new password)')).action(
    async (opts: ClientOptions) => {
      const [value, newPassword] = await readSecrets([{ label: 'PUK' }, { label: 'New password for operator', confirm: true }], opts.stdin === true);
      await call(await socketPath(opts), 'puk.reset', { puk: value as string, newPassword: newPassword as string });
      process.stdout.write('password changed for operator\n');
    },
  );
}

export function logPasswordCommand(program: Command): void {
  const logPassword = program.command('log-password').description('the Log Password that exported logs are encrypted with');
  clientCommand(logPassword.command('set').description('set the Log Password (manufacturer password, then the Log Password)')).action(
    async (opts: ClientOptions) => {
      const [password, value] = await readSecrets(
        [{ label: 'Password for manufacturer' }, { label: 'New Log Password (at least 12 characters)', confirm: true }],
        opts.stdin === true,
      );
      await call(await socketPath(opts), 'logPassword.set', { password: password as string, logPassword: value as string });
      process.stdout.write('Log Password set: exported logs are encrypted with it (AES-256; open them with 7-Zip)\n');
    },
  );
}
