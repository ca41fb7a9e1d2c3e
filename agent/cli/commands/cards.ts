import { Option, type Command } from 'commander';
import { visible } from '../../common/visible.js';
import { call } from '../../wire/client.js';
import { table } from '../human-format.js';
import { clientCommand, manufacturerPassword, print, socketPath, wholeNumber, type ClientOptions } from './common.js';

/** Master cards: enrol the next card placed, list, remove (all with the manufacturer's password). */
export function masterCardCommand(program: Command): void {
  const masterCard = program.command('master-card').description('master RFID cards: a tap resets every password, a hold restores the manufacturer defaults');
  clientCommand(
    masterCard
      .command('enroll')
      .description("enrol a card presented twice on a reader (manufacturer password): an NTAG 424 DNA is personalised with this station's keys"),
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
      print(result, opts.json, (card) => {
        const kind = card.kind === 'ntag424' ? 'secure card, personalised' : 'UID only: it can be copied';
        return `enrolled master card ${card.id} (on ${card.reader}; ${kind}); the card may be removed`;
      });
    });
  clientCommand(masterCard.command('list').description('list the enrolled master cards (manufacturer password)'))
    .option('--json', 'print the list as JSON')
    .action(async (opts: ClientOptions) => {
      const password = await manufacturerPassword(opts);
      print(await call(await socketPath(opts), 'masterCard.list', { password }), opts.json, ({ masterCards: cards }) => {
        if (cards.length === 0) return 'no master card enrolled';
        return table(
          ['ID', 'KIND', 'ENROLLED', 'READER'],
          cards.map((c) => [c.id, c.kind === 'ntag424' ? 'ntag424' : 'uidOnly (copyable)', c.enrolledAt, c.reader]),
        );
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
