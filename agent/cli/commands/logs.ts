import { Option, type Command } from 'commander';
import { EXPORT_ROLES, type ExportRole } from '../../../policy/roles.js';
import { readSecrets } from '../secret-input.js';
import { clientCommand, print, socketPath, type ClientOptions } from './common.js';

const mib = (bytes: number): string => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

/** The log export to a zip file, streamed from the daemon. */
export function logsCommand(program: Command): void {
  const logs = program.command('logs').description("the station's logs");
  clientCommand(logs.command('export').description("export every log as a zip, AES-256 encrypted with the Log Password (that role's password)"))
    .requiredOption('--output <file>', 'the zip to write')
    .addOption(new Option('--as <role>', 'the role exporting').choices(EXPORT_ROLES).default('operator'))
    .option('--unencrypted', 'export in the clear when no Log Password is set (recorded as a security event)')
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'print the result as JSON')
    .action(async (opts: ClientOptions & { output: string; as: ExportRole; unencrypted?: boolean; force?: boolean }) => {
      const { exportToFile } = await import('../export-command.js');
      const [password] = await readSecrets([{ label: `Password for ${opts.as}` }], opts.stdin === true);
      const result = await exportToFile(await socketPath(opts), {
        output: opts.output,
        as: opts.as,
        password: password as string,
        unencrypted: opts.unencrypted === true,
        replace: opts.force === true,
      });
      print(
        result,
        opts.json,
        () =>
          `wrote ${result.output}: ${result.files} log files, ${mib(result.logBytes)} of logs in ${mib(result.zipBytes)}, ` +
          (result.encrypted ? 'AES-256 encrypted with the Log Password (open it with 7-Zip)' : 'NOT encrypted'),
      );
    });
}
