// The layers (.dependency-cruiser.cjs): policy ← common ← store, wire ← logs ← sync ← daemon, cli,
// rfid beside; no cycles, type-only imports included. dependency-cruiser checks them on the sources.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { ROOT, runDevTool } from '../support/dev-tool.js';

const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

t.test('the sources keep to the layers', async (t) => {
  const run = await runDevTool('depcruise', ['--config', CONFIG, 'agent', 'policy', 'rfid', 'console']);
  t.equal(run.code, 0, run.output);
});

t.test('the rules see an upward import, a type-only cycle, I/O in policy and a cli → daemon import', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-layers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
    'package.json': JSON.stringify({ type: 'module' }),
    // A type-only cycle between policy/ and the store: both directions are type imports.
    'policy/rule.ts': "import type { Shape } from '../agent/store/shape.js';\nexport type Rule = (s: Shape) => Shape;\n",
    'agent/store/shape.ts': "import type { Rule } from '../../policy/rule.js';\nexport interface Shape { rule?: Rule }\n",
    'policy/clock.ts': "import { setTimeout } from 'node:timers/promises';\nexport const wait = setTimeout;\n",
    'agent/daemon/service.ts': 'export const service = 1;\n',
    'agent/logs/log.ts': "import { service } from '../daemon/service.js';\nexport const log = service;\n",
    'agent/cli/command.ts': "import { service } from '../daemon/service.js';\nexport const command = service;\n",
    // The console reaching into the daemon instead of through the socket.
    'console/page.ts': "import { service } from '../agent/daemon/service.js';\nexport const page = service;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, dirname(path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const run = await runDevTool('depcruise', ['--config', CONFIG, 'agent', 'policy', 'console'], dir);
  t.not(run.code, 0, run.output);
  const rules = ['no-circular', 'policy-imports-only-policy', 'policy-does-no-io', 'logs-imports-no-higher-layer', 'cli-imports-no-daemon'];
  for (const rule of [...rules, 'console-reaches-the-daemon-only-by-the-socket']) {
    t.match(run.output, rule, `${rule} reported`);
  }
});
