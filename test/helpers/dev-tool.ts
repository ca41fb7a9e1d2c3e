// Runs one of the project's dev tools (node_modules/.bin) to its end, for the tests that hold the
// tree to its rules (layers, lint, format): what it printed and how it exited.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ToolRun {
  code: number;
  output: string;
}

export function runDevTool(tool: string, args: readonly string[], cwd = ROOT): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile(join(ROOT, 'node_modules', '.bin', tool), args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err === null) resolve({ code: 0, output });
      else if (typeof err.code === 'number') resolve({ code: err.code, output });
      else reject(err); // not started (missing tool) or killed: no verdict to assert on
    });
  });
}
