import { execFile } from 'node:child_process';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs 7-Zip (Debian p7zip-full), the tool operators open exported logs with. */
export function sevenZip(args: string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile('7z', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('7z is not installed; install it with: apt-get install p7zip-full'));
        return;
      }
      const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
