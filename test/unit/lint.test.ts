// ESLint (eslint.config.js: typescript-eslint's recommended rules, no `any`, type-only imports
// marked as such) finds nothing in the tree.
import t from 'tap';
import { runDevTool } from '../support/dev-tool.js';

t.test('eslint finds nothing in the tree', async (t) => {
  const run = await runDevTool('eslint', ['--max-warnings', '0', '.']);
  t.equal(run.code, 0, run.output);
});

t.test('eslint refuses an explicit any and a type imported as a value', async (t) => {
  const source = "import { Socket } from 'node:net';\nexport function f(s: Socket, x: any): Socket {\n  return x ?? s;\n}\n";
  const run = await runDevTool('eslint', ['--stdin', '--stdin-filename', 'agent/common/probe.ts'], undefined, source);
  t.not(run.code, 0, run.output);
  t.match(run.output, '@typescript-eslint/no-explicit-any');
  t.match(run.output, '@typescript-eslint/consistent-type-imports');
});
