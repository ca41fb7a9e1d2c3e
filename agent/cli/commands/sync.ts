import type { Command } from 'commander';
import { CcguardError, EXIT, exitCodeFor, InvalidInputError } from '../../common/errors.js';
import { loadConfig, SYSTEM_CONFIG_PATH } from '../../common/config.js';
import { call } from '../../wire/client.js';
import type { ParamsIn } from '../../wire/protocol.js';
import { table } from '../human-format.js';
import { clientCommand, print, rerunWithJitForSsh2, socketPath, type ClientOptions } from './common.js';

/** Double stations: the master's view of its slave, its sync key, and the slave's side of a push. */
export function syncCommand(program: Command): void {
  const sync = program.command('sync').description("double stations: keep the slave controller's credentials identical over SSH");
  clientCommand(sync.command('status').description('the slave, the last pushed and acknowledged revision, and the last error'))
    .option('--json', 'print the status as JSON')
    .action(async (opts: ClientOptions) => {
      print(await call(await socketPath(opts), 'sync.status', {}), opts.json, (s) =>
        table(
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
        ).replace(/^.*\n/, ''),
      );
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
      const { syncKeygen } = await import('../../sync/keygen.js');
      const key = await syncKeygen(config.sync.peer.privateKeyFile, config.sync.peer.command, opts.force === true);
      print(key, opts.json, () =>
        [
          `${key.created ? 'made' : 'kept'} the sync key ${key.privateKeyFile}`,
          '',
          `on the slave, in the sync user's authorized_keys:`,
          key.authorizedKeysLine,
          '',
          "in the slave's config:",
          JSON.stringify(key.slaveConfig),
        ].join('\n'),
      );
    });
  clientCommand(sync.command('receive').description("the slave's side, run by sshd for the master's key: applies one push read on stdin")).action(
    async (opts: ClientOptions) => {
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
    },
  );
}
