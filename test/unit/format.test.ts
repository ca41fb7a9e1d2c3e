// Prettier (.prettierrc.json, .prettierignore) would change nothing in the tree.
import t from 'tap';
import { runDevTool } from '../support/dev-tool.js';

t.test('the tree is formatted as prettier formats it', async (t) => {
  const run = await runDevTool('prettier', ['--check', '.']);
  t.equal(run.code, 0, run.output);
});

t.test('prettier sees a file it would change', async (t) => {
  const run = await runDevTool('prettier', ['--check', '--stdin-filepath', 'agent/common/probe.ts'], undefined, 'const a = "double quoted"\n');
  t.not(run.code, 0, run.output);
});
