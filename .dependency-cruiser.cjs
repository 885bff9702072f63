// Layer rules for src/: a folder may import only the layers below it, never one above, and
// nothing may form a cycle. Top to bottom (files in src/ itself are the composition root):
const LAYERS = [
  ['root', '^src/[^/]+\\.ts$'],
  ['http', '^src/http/'],
  ['launch', '^src/launch/'],
  ['adapters', '^src/(runners|kube|notify|auth)/'],
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
