// The runs page in a real browser: Debian's Chromium (scripts/tools chromium; never a
// downloaded browser) driven by puppeteer-core against the compiled binary, which embeds the
// page. A running test's log shows its progress lines while the run is still `running`, then
// the verdict and thresholds; the trend chart of one canary across five revisions (p95 of real
// load against a loopback target made slower each revision); a client sees only its namespace.
// K6GATE_SCREENSHOTS=<dir> keeps the screenshots (the README's come from here).

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { flaggerPayload, postLaunch, REPO, startChildDaemon } from '../helpers/daemon.ts';

const chromium = Bun.spawnSync(['bash', join(REPO, 'scripts/tools'), 'chromium'], {
  env: { ...process.env, K6GATE_TOOLS_NO_BUILD: '1' },
  stderr: 'ignore',
})
  .stdout.toString()
  .trim();
if (!chromium) console.log('SKIP page tests: chromium is not installed (make tools installs it)');

const SCRIPT = readFileSync(join(REPO, 'test/fixtures/scripts/load-healthy.js'), 'utf8');
const TEAM_A = { username: 'team-a', password: 'team-a-token-0123' };
const bearer = (who: { password: string }) => ({ Authorization: `Bearer ${who.password}` });
const dir = mkdtempSync(join(tmpdir(), 'k6gate-page-'));
const shots = process.env.K6GATE_SCREENSHOTS;

let daemon: Awaited<ReturnType<typeof startChildDaemon>>;
let browser: Browser;
let delayMs = 5;
const target = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch() {
    await Bun.sleep(delayMs);
    return new Response('ok');
  },
});

// The primary of the compared run: answers at once.
const primary = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('ok') });

beforeAll(async () => {
  if (!chromium) return;
  const auth = join(dir, 'auth.yaml');
  writeFileSync(
    auth,
    'clients:\n  - name: team-a\n    token: "team-a-token-0123"\n    namespaces: ["team-a"]\n' +
      '  - name: team-b\n    token: "team-b-token-0123"\n    namespaces: ["team-b"]\n',
  );
  daemon = await startChildDaemon({ args: ['--auth-file', auth], compiled: true });
  browser = await launchBrowser();
  // A cold Chromium (its files out of the page cache, after the package test) took over bun's
  // 5 s hook default in one CI run.
}, 60_000);

// Chromium starts in ~1 s here, ~0.3 s warm, yet once in CI it never printed its DevTools
// endpoint and puppeteer's 30 s launch timeout ran out (at 4b1baf6, on a machine also running the
// kube tests). A second try with a fresh profile, after a shorter wait; the cause is printed.
// puppeteer kills a browser that did not start 5 s after giving up on it (tried with a stand-in
// that never answers: nothing left).
async function launchBrowser(): Promise<Browser> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await puppeteer.launch({
        executablePath: chromium,
        headless: true,
        timeout: 20_000,
        // The browser runs as this user (root here): Chromium's sandbox needs a non-root user.
        args: ['--no-sandbox', '--disable-gpu', '--window-size=1100,900'],
      });
    } catch (err) {
      if (attempt >= 2) throw err;
      console.log(`chromium did not start (${(err as Error).message}); trying once more`);
    }
  }
}
afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await Promise.all([target.stop(true), primary.stop(true)]);
  rmSync(dir, { recursive: true, force: true });
});

async function openPage(path: string): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  await page.authenticate(TEAM_A);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push((e as Error).message));
  await page.goto(`${daemon.url}${path}`);
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}

const launch = (checksum: string, over: Record<string, string> = {}, who = TEAM_A, name = 'shop') =>
  postLaunch(
    daemon.url,
    flaggerPayload(
      {
        script: SCRIPT,
        env_vars: JSON.stringify({ TARGET: `http://127.0.0.1:${target.port}` }),
        min_failure_delay: '0',
        ...over,
      },
      { namespace: who === TEAM_A ? 'team-a' : 'team-b', name, checksum },
    ),
    { headers: { 'Content-Type': 'application/json', ...bearer(who) } },
  );

test.skipIf(!chromium)(
  'a running test: its log lines appear while it runs, then its verdict and thresholds',
  async () => {
    const res = await launch(
      'live-1',
      {
        wait_for_results: 'false',
        env_vars: JSON.stringify({ TARGET: `http://127.0.0.1:${target.port}`, K6_DURATION: '4s' }),
      },
      TEAM_A,
      'checkout',
    );
    expect(res.status).toBe(200);
    const runId = res.headers.get('x-k6gate-run-id') as string;
    const page = await openPage(`/#/runs/${runId}`);
    // Progress lines are on the page while the badge still says running.
    // (A string: it runs in the page, where `document` is.)
    await page.waitForFunction(
      `(document.querySelector('#log')?.textContent ?? '').includes('running (0m02') &&
       document.querySelector('#state [data-state]')?.getAttribute('data-state') === 'running'`,
      { timeout: 15_000 },
    );
    if (shots) await page.screenshot({ path: join(shots, 'run-live.png'), fullPage: true });
    await page.waitForSelector('#state [data-state=passed]', { timeout: 20_000 });
    const log = await page.$eval('#log', (e) => e.textContent ?? '');
    expect(log).toContain('THRESHOLDS');
    const thresholds = await page.$$eval('#thresholds tr', (rows) =>
      rows.map((r) => r.textContent),
    );
    expect(thresholds.join('\n')).toContain('p(95)<500');
    expect(await page.$eval('#reason', (e) => e.textContent)).toBe('all thresholds passed');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    if (shots) await page.screenshot({ path: join(shots, 'run-verdict.png'), fullPage: true });
    await page.close();
  },
  40_000,
);

test.skipIf(!chromium)(
  "the trend of one canary across five revisions; another team's run is not listed",
  async () => {
    const p95s: number[] = [];
    // Each revision's target at least 20 ms slower than the last: a CI run under load saw a 5 ms
    // target's p95 at 17.8 ms, above the 15 ms one's 16.2, when the first step was 10 ms.
    for (const [i, delay] of [10, 30, 60, 120, 240].entries()) {
      delayMs = delay;
      const res = await launch(`rev-${i + 1}`, {}, TEAM_A);
      expect(res.status).toBe(200);
      const runId = res.headers.get('x-k6gate-run-id');
      const run = (await (
        await fetch(`${daemon.url}/api/v1/runs/${runId}`, { headers: bearer(TEAM_A) })
      ).json()) as { numbers: { p95: number } };
      p95s.push(run.numbers.p95);
    }
    expect(p95s).toEqual([...p95s].sort((a, b) => a - b)); // slower each revision
    const theirs = await launch('rev-b', {}, { username: 'team-b', password: 'team-b-token-0123' });
    const theirRun = theirs.headers.get('x-k6gate-run-id') as string;

    const page = await openPage('/');
    await page.waitForSelector('#recent');
    const listed = await page.$$eval('#recent tr[data-run]', (rows) =>
      rows.map((r) => r.getAttribute('data-run')),
    );
    expect(listed.length).toBeGreaterThanOrEqual(5);
    expect(listed).not.toContain(theirRun);
    if (shots) await page.screenshot({ path: join(shots, 'runs.png'), fullPage: true });

    await page.goto(`${daemon.url}/#/runs/${listed[0]}`);
    await page.waitForSelector('#trend svg[data-series=p95] circle');
    const dots = await page.$$eval('#trend svg[data-series=p95] circle', (cs) =>
      cs.map((c) => Number(c.getAttribute('cy'))),
    );
    expect(dots).toHaveLength(5);
    // Higher p95 is drawn higher (smaller y): the slowest revision is the top dot.
    expect(dots[4]).toBeLessThan(dots[0] as number);
    if (shots) await page.screenshot({ path: join(shots, 'trend.png'), fullPage: true });
    await page.close();
  },
  60_000,
);

test.skipIf(!chromium)(
  "a run compared with its primary: the page shows every rule's two values and the failed one",
  async () => {
    delayMs = 80;
    const res = await launch('cmp-1', {
      compare: 'http_req_duration.p(95) <= 1.2 * baseline + 10; http_req_failed.rate <= baseline',
      baseline: 'primary',
      baseline_env_vars: JSON.stringify({ TARGET: `http://127.0.0.1:${primary.port}` }),
    });
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toContain('(primary)');
    const runId = res.headers.get('x-k6gate-run-id') as string;
    const page = await openPage(`/#/runs/${runId}`);
    await page.waitForSelector('#comparison tr td');
    const rows = await page.$$eval('#comparison tr', (trs) =>
      trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows).toHaveLength(2);
    const [p95, errors] = rows as [string[], string[]];
    expect(p95[0]).toBe('http_req_duration.p(95) <= 1.2 * baseline + 10');
    expect(Number(p95[1])).toBeGreaterThan(Number(p95[3])); // this run above the limit
    expect(p95[4]).toBe('failed');
    expect(errors[4]).toBe('passed');
    expect(await page.$eval('#state [data-state]', (e) => e.getAttribute('data-state'))).toBe(
      'failed',
    );
    if (shots) await page.screenshot({ path: join(shots, 'comparison.png'), fullPage: true });
    await page.close();
  },
  40_000,
);
