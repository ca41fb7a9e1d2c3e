import { Option, type Command } from 'commander';
import { EXIT } from '../../common/errors.js';
import { AUDIT_SCHEMA } from '../../wire/audit-report.js';
import { call } from '../../wire/client.js';
import type { ResultOf } from '../../wire/protocol.js';
import { formatAudit, formatEvent, formatReaders, formatStatus } from '../human-format.js';
import { colourFor } from '../terminal-style.js';
import { clientCommand, manufacturerPassword, print, socketPath, wholeNumber, type ClientOptions } from './common.js';

/** Diagnostics: status, readers, events, audit (no secret), and the manufacturer's acknowledgement of a state fallback. */

export function statusCommand(program: Command): void {
  clientCommand(program.command('status').description('show the state of the agent'))
    .option('--json', 'print one JSON object')
    .action(async (opts: ClientOptions) => {
      print(await call(await socketPath(opts), 'status', {}), opts.json, (v) => formatStatus(v, colourFor(process.stdout)));
    });
}

export function readersCommand(program: Command): void {
  clientCommand(program.command('readers').description('list the card readers and whether a (master) card is on them'))
    .option('--json', 'print the readers as JSON')
    .action(async (opts: ClientOptions) => {
      print(await call(await socketPath(opts), 'readers', {}), opts.json, formatReaders);
    });
}

export function eventsCommand(program: Command): void {
  program
    .command('events')
    .description('show the security event log')
    .addOption(new Option('--socket <path>', 'control socket of the daemon'))
    .option('--follow', 'keep printing new events as they happen')
    .option('--json', 'one JSON object per line')
    .option('--limit <n>', 'how many past events to show', wholeNumber('--limit', 1, 10_000), 100)
    .action(async (opts: ClientOptions & { follow?: boolean; limit: number }) => {
      const show = (event: unknown): void => print(event, opts.json, formatEvent);
      const showPast = (result: ResultOf<'events'>): void => {
        for (const event of result.events) show(event);
      };
      const params = { follow: opts.follow === true, limit: opts.limit };
      const socket = await socketPath(opts);
      if (opts.follow) await call(socket, 'events', params, { onEvent: show, onResult: showPast });
      else showPast(await call(socket, 'events', params));
    });
}

export function auditCommand(program: Command): void {
  clientCommand(program.command('audit').description('check the station against the security tips; exit 1 when a high finding is open'))
    .option('--json', `print the report as JSON (${AUDIT_SCHEMA}, schemas/audit.schema.json)`)
    .action(async (opts: ClientOptions) => {
      const report = await call(await socketPath(opts), 'audit', {});
      print(report, opts.json, (v) => formatAudit(v, colourFor(process.stdout)));
      if (!report.passed) process.exitCode = EXIT.refused;
    });
}

export function acknowledgeFallbackCommand(program: Command): void {
  clientCommand(
    program
      .command('acknowledge-fallback')
      .description('the manufacturer acknowledges a state fallback that "ccguard audit" reports, after checking what it may have undone'),
  ).action(async (opts: ClientOptions) => {
    const password = await manufacturerPassword(opts);
    const result = await call(await socketPath(opts), 'audit.acknowledgeFallback', { password });
    print(result, opts.json, () => `state fallback acknowledged (generation ${result.acknowledged.lostGeneration} was lost)`);
  });
}
