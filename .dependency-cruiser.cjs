/**
 * The layers of src/, lowest first. A folder may import from its own layer and the ones below,
 * never from a higher one, and no import may close a cycle. `npm run lint` checks this.
 */
const LAYERS = [
  ['config', 'common'],
  ['database', 'redis', 'metrics'],
  ['users', 'audit', 'limits'],
  ['auth', 'orgs'],
  ['catalogue', 'api-keys', 'webhooks'],
  ['metering'],
  ['usage', 'billing', 'gateway'],
  ['health'],
];
const ALL = LAYERS.flat();
const folders = (names) => `^src/(${names.join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `layer-${i}-imports-up`,
      severity: 'error',
      comment: `${layer.join(', ')} may only import from layers at or below theirs`,
      from: { path: folders(layer) },
      to: { path: folders(LAYERS.slice(i + 1).flat()) },
    })),
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules import each other in a loop',
      from: {},
      to: { circular: true },
    },
    {
      name: 'app-root-is-the-top',
      severity: 'error',
      comment: 'main.ts, app.module.ts and app.setup.ts wire everything; nothing imports them',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'frozen-migrations',
      severity: 'error',
      comment: 'A migration is frozen SQL: it must mean the same whatever the code becomes',
      from: { path: '^src/database/migrations/' },
      to: { path: '^src/', pathNot: '^src/database/migrations/' },
    },
    {
      name: 'folder-without-a-layer',
      severity: 'error',
      comment: `Every folder of src/ has a layer (see LAYERS in .dependency-cruiser.cjs)`,
      from: { path: '^src/[^/]+/', pathNot: folders(ALL) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
