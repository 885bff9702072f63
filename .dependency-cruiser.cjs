// Layer rules for src/: a folder may import only the layers below it, never one above, and
// nothing may form a cycle. Top to bottom:
//   main → cli → compose → config → http → launch → runners → kube / notify / auth / store
//   → k6 / flagger / os → core
// (only cli and compose read settings; the settings table uses the payload's resource schema.)
const LAYERS = [
  ['main', '^src/main\\.ts$'],
  ['cli', '^src/cli/'],
  ['compose', '^src/compose/'],
  ['config', '^src/config/'],
  ['http', '^src/http/'],
  ['launch', '^src/launch/'],
  ['runners', '^src/runners/'],
  ['adapters', '^src/(kube|notify|auth|store)/'],
  ['contracts', '^src/(k6|flagger|os)/'],
  ['core', '^src/core/'],
];

const upward = LAYERS.flatMap(([name, path], i) =>
  i === 0
    ? []
    : [
        {
          name: `${name}-imports-only-downward`,
          comment: `${name} may not import a layer above it (${LAYERS.slice(0, i)
            .map(([n]) => n)
            .join(', ')})`,
          severity: 'error',
          from: { path },
          to: { path: LAYERS.slice(0, i).map(([, p]) => p) },
        },
      ],
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-loose-files',
      comment: 'every module lives in a room (a folder); only main.ts stands in src/ itself',
      severity: 'error',
      from: { path: '^src/[^/]+\\.ts$', pathNot: '^src/main\\.ts$' },
      to: {},
    },
    {
      name: 'local-and-pod-runners-apart',
      comment: 'runners/local and runners/pods share only the seam (runners/runner.ts)',
      severity: 'error',
      from: { path: '^src/runners/(local|pods)/' },
      to: { path: '^src/runners/(local|pods)/', pathNot: '^src/runners/$1/' },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'elysia-only-in-http',
      comment: 'services and supervisors never import Elysia (STYLE.md: Elysia at the edge only)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/http/' },
      to: { path: 'node_modules/elysia/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^dist/' },
  },
};
