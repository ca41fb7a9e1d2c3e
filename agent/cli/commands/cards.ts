import { Option, type Command } from 'commander';
import { visible } from '../../common/visible.js';
import { call } from '../../wire/client.js';
import { table } from '../human-format.js';
import { clientCommand, manufacturerPassword, print, socketPath, wholeNumber, type ClientOptions } from './common.js';

/** Master cards: enrol the next card placed, list, remove (all with the manufacturer's password). */
export function masterCardCommand(program: Command): void {
  const masterCard = program.command('master-card').description('master RFID cards: a tap resets every password, a hold restores the manufacturer defaults');
  clientCommand(masterCard.command('enroll').description('enrol the next card placed on any reader (manufacturer password)'))
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the card').argParser(wholeNumber('--timeout', 1, 600)).default(60))
    .option('--json', 'print the result as JSON')
    .action(async (opts: ClientOptions & { timeout: number }) => {
      const password = await manufacturerPassword(opts);
      process.stderr.write(`place the card on a reader within ${opts.timeout} s…\n`);
      const result = await call(await socketPath(opts), 'masterCard.enroll', { password, timeoutSeconds: opts.timeout }, { timeoutMs: (opts.timeout + 30) * 1000 });
      print(result, opts.json, (card) => `enrolled master card ${card.id} (on ${card.reader})`);
    });
  clientCommand(masterCard.command('list').description('list the enrolled master cards (manufacturer password)'))
    .option('--json', 'print the list as JSON')
    .action(async (opts: ClientOptions) => {
      const password = await manufacturerPassword(opts);
      print(await call(await socketPath(opts), 'masterCard.list', { password }), opts.json, ({ masterCards: cards }) => {
        if (cards.length === 0) return 'no master card enrolled';
        return table(['ID', 'ENROLLED', 'READER'], cards.map((c) => [c.id, c.enrolledAt, c.reader]));
      });
    });
  clientCommand(masterCard.command('remove').description('remove an enrolled master card (manufacturer password)'))
    .argument('<id>', 'the card id, as "ccguard master-card list" shows it')
    .action(async (id: string, opts: ClientOptions) => {
      const password = await manufacturerPassword(opts);
      const result = await call(await socketPath(opts), 'masterCard.remove', { password, id });
      process.stdout.write(`removed master card ${visible(result.removed)}; ${result.remaining} left\n`);
    });
}
