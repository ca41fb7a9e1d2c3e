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

/** Runs `tool` in `cwd` (the repository by default), with `input` on its stdin if given. */
export function runDevTool(tool: string, args: readonly string[], cwd = ROOT, input?: string): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(join(ROOT, 'node_modules', '.bin', tool), args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err === null) resolve({ code: 0, output });
      else if (typeof err.code === 'number') resolve({ code: err.code, output });
      else reject(err); // not started (missing tool) or killed: no verdict to assert on
    });
    child.stdin?.end(input ?? '');
  });
}
