// `--help` and the README's settings table, both generated from the settings table so neither
// can drift from what the parser accepts.

import { SETTINGS } from './settings.ts';

const FLAG_COLUMN = Math.max(...SETTINGS.map((s) => s.flag.length)) + 12;

/** `--help`, generated from the settings table so it cannot drift. */
export function renderHelp(version: string): string {
  const lines = [
    `k6gate ${version}: gate Kubernetes releases on k6 load tests (a Flagger webhook).`,
    '',
    'Usage:',
    '  k6gate [serve] [flags]   serve Flagger webhooks (POST /launch-test) over HTTP',
    '  k6gate run [flags] <script.js | archive.tar | -> | --configmap ns/name[/key]',
    '                           run one test and exit with its verdict (k6gate run --help)',
    '  k6gate check <canary.yaml>…',
    "                           validate Canaries' k6gate webhooks offline (k6gate check --help)",
    '  k6gate --help            show this help',
    '  k6gate --version         print the version',
    '',
    'Flags (each also read from the environment variable shown; a flag wins; an empty variable',
    'counts as unset):',
  ];
  for (const s of SETTINGS) {
    const fallback = typeof s.fallback === 'function' ? 'TMPDIR or /tmp' : s.fallback;
    lines.push(
      `  ${s.flag} <value>`.padEnd(FLAG_COLUMN) + `${s.env}`,
      `      ${s.help}${fallback === '' ? '' : ` (default: ${fallback})`}`,
    );
  }
  lines.push(
    '',
    'Routes: POST /launch-test, POST /gate/{promotion,rollback,approve,halt,check,open,close},',
    'POST /rollback/{check,open,close}, POST /events, GET / (the runs page), GET /api/v1/… (runs,',
    'logs, canaries, verdict; /api/v1/openapi.json), GET /health, GET /healthz, GET /readyz,',
    'GET /metrics.',
    'Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a fatal error, 2 on bad settings.',
    '',
  );
  return lines.join('\n');
}

/** The README's settings table, generated from the same table (a test keeps them in sync). */
export function renderSettingsMarkdown(): string {
  const rows = SETTINGS.map((s) => {
    const fallback =
      typeof s.fallback === 'function'
        ? 'TMPDIR or /tmp'
        : s.fallback === ''
          ? '(empty)'
          : s.fallback;
    return `| \`${s.flag}\` | \`${s.env}\` | \`${fallback}\` | ${s.help} |`;
  });
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
