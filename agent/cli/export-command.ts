import type { ExportRole } from '../../policy/roles.js';
import { call } from '../wire/client.js';
import { OutputFile } from './export-file.js';

export interface ExportResult {
  output: string;
  files: number;
  logBytes: number;
  zipBytes: number;
  encrypted: boolean;
}

/**
 * `ccguard logs export`: streams the zip from the daemon into the output file, with a progress
 * bar on a terminal. Ctrl-C or a failure removes the partial file.
 */
export async function exportToFile(
  socket: string,
  request: { output: string; as: ExportRole; password: string; unencrypted: boolean; replace: boolean },
): Promise<ExportResult> {
  const out = await OutputFile.create(request.output, request.replace);
  const interrupted = (signal: NodeJS.Signals): void => {
    void out.discard().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const bar = process.stderr.isTTY ? await progressBar() : null;
  let zipBytes = 0;
  try {
    const result = await call(
      socket,
      'logs.export',
      { as: request.as, password: request.password, unencrypted: request.unencrypted },
      {
        onData: (data, progress) => {
          zipBytes += data.length;
          bar?.update(progress);
          return out.write(data);
        },
      },
    );
    await out.commit();
    bar?.finish();
    return { output: out.path, files: result.files, logBytes: result.logBytes, zipBytes, encrypted: result.encrypted };
  } catch (err) {
    bar?.stop();
    await out.discard();
    throw err;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

async function progressBar(): Promise<{ update(p: { done: number; total: number }): void; finish(): void; stop(): void }> {
  const { SingleBar, Presets } = (await import('cli-progress')).default;
  const bar = new SingleBar(
    {
      format: 'exporting logs [{bar}] {percentage}% | {doneMiB} of {totalMiB} MiB',
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  let started = false;
  let total = 1;
  return {
    update: (p) => {
      if (!started) {
        bar.start(Math.max(p.total, 1), 0, { doneMiB: mib(0), totalMiB: mib(p.total) });
        started = true;
        total = p.total;
      }
      bar.update(p.done, { doneMiB: mib(p.done), totalMiB: mib(p.total) });
    },
    finish: () => {
      if (!started) return;
      bar.update(Math.max(total, 1), { doneMiB: mib(total), totalMiB: mib(total) });
      bar.stop();
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
