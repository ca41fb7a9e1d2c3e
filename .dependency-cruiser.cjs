// The layers (design.md "Layers", agent/README.md), lowest first: policy ← agent/common ←
// agent/store, agent/wire ← agent/logs ← agent/sync ← agent/daemon, agent/cli ← agent/main.ts;
// rfid beside them; console/ (the HTTPS console) on agent/wire and agent/common only. A module imports only from its own layer or those below. Run by
// `npm run lint` and, as a tap test, by `npm run test:unit` (test/unit/layers.test.ts).

/** Path patterns of the layers above each one: what it must not import. */
const above = {
  common: '^agent/(store|wire|logs|sync|daemon|cli)/|^agent/main\\.ts$',
  storeWire: '^agent/(logs|sync|daemon|cli)/|^agent/main\\.ts$',
  logs: '^agent/(sync|daemon|cli)/|^agent/main\\.ts$',
  sync: '^agent/(daemon|cli)/|^agent/main\\.ts$',
};

const upward = (name, from, to, comment) => ({ name, severity: 'error', comment, from: { path: from }, to: { path: to } });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No cycles, type-only ones included: a cycle is two modules that cannot be understood (or moved) apart.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'policy-imports-only-policy',
      severity: 'error',
      comment: 'policy/ holds the pure rules: it imports nothing of ours outside policy/.',
      from: { path: '^policy/' },
      to: { path: '^(agent|rfid)/' },
    },
    {
      name: 'policy-does-no-io',
      severity: 'error',
      comment: 'policy/ holds the pure rules: of node, only computation (hashes, HMACs), no files, sockets, processes or timers.',
      from: { path: '^policy/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
    },
    {
      name: 'rfid-imports-no-agent',
      severity: 'error',
      // The typed error base (CcguardError) is the one exception: it is what every process throws.
      comment: 'rfid/ is the reader edge: it knows nothing of the agent (its typed errors aside).',
      from: { path: '^rfid/' },
      to: { path: '^agent/', pathNot: '^agent/common/errors\\.ts$' },
    },
    {
      name: 'only-daemon-imports-rfid',
      severity: 'error',
      comment: "The card reader is the daemon's: no other part of agent/ imports rfid/.",
      from: { path: '^agent/', pathNot: '^agent/daemon/' },
      to: { path: '^rfid/' },
    },
    upward('common-imports-no-higher-layer', '^agent/common/', above.common, 'agent/common/ is the base of every process.'),
    upward('store-wire-import-no-higher-layer', '^agent/(store|wire)/', above.storeWire, 'agent/store/ and agent/wire/ sit on common/ and policy/ only.'),
    upward('logs-imports-no-higher-layer', '^agent/logs/', above.logs, 'agent/logs/ sits below sync/, daemon/ and cli/.'),
    upward('sync-imports-no-higher-layer', '^agent/sync/', above.sync, 'agent/sync/ sits below daemon/ and cli/.'),
    {
      name: 'cli-imports-no-daemon',
      severity: 'error',
      comment: 'The CLI and the daemon meet only at the wire contract (main.ts alone loads both).',
      from: { path: '^agent/cli/' },
      to: { path: '^agent/daemon/' },
    },
    {
      name: 'daemon-imports-no-cli',
      severity: 'error',
      comment: 'The CLI and the daemon meet only at the wire contract (main.ts alone loads both).',
      from: { path: '^agent/daemon/' },
      to: { path: '^agent/cli/' },
    },
    {
      name: 'console-reaches-the-daemon-only-by-the-socket',
      severity: 'error',
      comment:
        'console/ is a socket client like any web server: of agent/ it imports the wire contract and client and common/ (config, errors), nothing that holds or reads the state.',
      from: { path: '^console/' },
      to: { path: '^(agent/(store|logs|sync|daemon|cli)/|rfid/)' },
    },
    {
      name: 'only-main-imports-console',
      severity: 'error',
      comment: 'The console is its own process: only agent/main.ts starts it.',
      from: { path: '^(agent|policy|rfid)/', pathNot: '^agent/main\\.ts$' },
      to: { path: '^console/' },
    },
    {
      name: 'nothing-imports-main',
      severity: 'error',
      comment: 'agent/main.ts is the top: it picks the process.',
      from: {},
      to: { path: '^agent/main\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // The sources, not dist/: type-only imports count (a type cycle is a cycle).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
