// `make demo`: the compiled daemon gating canaries of a loopback demo app with Flagger-shaped
// requests — a healthy one that passes, a broken one that fails on its thresholds, and a slow one
// whose absolute thresholds hold but that is judged against its primary (metadata compare) and
// fails — then what the runs API says about them.
// Uses a real k6 when one is on PATH or in K6_BINARY, and otherwise says it uses the k6
// contract double from test/fixtures (k6 is not installable on the development machines).

import { join, resolve } from 'node:path';
import { flushStdio, stderr, stdout } from '../src/os/stdio.ts';

const REPO = resolve(import.meta.dir, '..');
const DAEMON = join(REPO, 'dist/k6gate');
const DOUBLE = join(REPO, 'test/fixtures/bin/k6');

const realK6 = process.env.K6_BINARY || Bun.which('k6');
const k6 = realK6 ?? DOUBLE;
const say = (text: string) => stdout.write(`\x1b[1m▶ ${text}\x1b[0m\n`);

say(
  realK6
    ? `using the real k6 at ${realK6}`
    : "no k6 found (PATH or K6_BINARY): using the k6 contract double from test/fixtures, which really sends the script's HTTP requests to the demo app and evaluates its thresholds",
);

// The demo app: /healthy answers in ~5 ms; /broken fails every other request, slowly.
let hits = 0;
const app = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(request) {
    const path = new URL(request.url).pathname;
    const n = ++hits;
    // /primary/slow: the slow canary's primary, the previous (fast) version of the same page
    if (path === '/healthy' || path === '/primary/slow') {
      await Bun.sleep(5);
      return new Response('ok');
    }
    if (path === '/slow') {
      await Bun.sleep(60);
      return new Response('ok');
    }
    if (path === '/broken') {
      await Bun.sleep(50);
      return n % 2 === 0 ? new Response('boom', { status: 500 }) : new Response('ok');
    }
    return new Response('not found', { status: 404 });
  },
});
const target = `http://127.0.0.1:${app.port}`;
say(`demo app on ${target} (/healthy, /slow and /broken)`);

const daemon = Bun.spawn(
  [DAEMON, 'serve', '--host', '127.0.0.1', '--listen-port', '0', '--log-format', 'text'],
  { env: { PATH: process.env.PATH ?? '', K6_BINARY: k6 }, stdout: 'inherit', stderr: 'pipe' },
);
const url = await new Promise<string>((resolveUrl, reject) => {
  const timer = setTimeout(() => reject(new Error('k6gate did not start in 15 s')), 15_000);
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of daemon.stderr) {
      const text = decoder.decode(chunk);
      for (const line of text.split('\n').filter(Boolean)) stderr.write(`  k6gate │ ${line}\n`);
      const match = /listening url=(http:\/\/\S+)/.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    }
  })();
});
say(`k6gate listening on ${url}`);

const script = (path: string) => `import http from 'k6/http';
import { check } from 'k6';

export const options = {
  vus: 4,
  duration: '3s',
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<200'],
  },
};

export default function () {
  const res = http.get(\`\${__ENV.TARGET}${path}\`);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
`;

async function gate(name: string, path: string, more: Record<string, string> = {}) {
  const body = {
    name,
    namespace: 'demo',
    phase: 'Progressing',
    checksum: 'demo',
    metadata: {
      script: script(path),
      env_vars: JSON.stringify({ TARGET: target }),
      min_failure_delay: '0s',
      ...more,
    },
  };
  const compared = more.compare ? `, compared: ${more.compare}` : '';
  say(`Flagger → POST ${url}/launch-test  (canary demo/${name}, script GETs ${path}${compared})`);
  const started = performance.now();
  const res = await fetch(`${url}/launch-test`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const verdict =
    res.status <= 202 ? 'PASS: Flagger goes on' : 'FAIL: Flagger halts and rolls back';
  say(`← HTTP ${res.status} after ${seconds}s  ⇒ ${verdict}`);
  const lines = text.trimEnd().split('\n');
  const shown = res.status === 200 ? lines.slice(-14) : [lines[0], '…', ...lines.slice(-14)];
  stdout.write(`${shown.map((l) => `    │ ${l}`).join('\n')}\n\n`);
  return res.status;
}

// The slow canary's own thresholds hold (p95 < 200 ms); against its primary (/healthy, run at
// the same time) it is more than 20% + 10 ms slower, so the compare rule fails it.
const comparedWithPrimary = {
  compare: 'http_req_duration.p(95) <= 1.2 * baseline + 10',
  baseline: 'primary',
  baseline_env_vars: JSON.stringify({ TARGET: `${target}/primary` }),
};

let ok: boolean;
try {
  const healthy = await gate('podinfo-healthy', '/healthy');
  const broken = await gate('podinfo-broken', '/broken');
  const slow = await gate('podinfo-slow', '/slow', comparedWithPrimary);
  const runs = (await (await fetch(`${url}/api/v1/runs`)).json()) as {
    runs: { name: string; state: string; numbers: { p95: number | null }; reason: string }[];
  };
  say(`GET ${url}/api/v1/runs  (the page at ${url}/ shows the same, with live logs)`);
  for (const r of runs.runs) {
    const p95 = r.numbers.p95 === null ? '' : ` p95=${r.numbers.p95.toFixed(1)}ms`;
    stdout.write(`    │ demo/${r.name}: ${r.state}${p95}: ${r.reason}\n`);
  }
  ok = healthy === 200 && broken === 400 && slow === 400;
} finally {
  daemon.kill('SIGTERM');
  const code = await daemon.exited;
  say(`k6gate stopped on SIGTERM with exit code ${code}`);
  await app.stop(true);
}
say(
  ok
    ? 'demo OK: the healthy canary passed, the broken one failed, the slow one failed against its primary'
    : 'demo FAILED',
);
await flushStdio(); // all of it out before the exit (src/os/stdio.ts)
process.exit(ok ? 0 : 1);
