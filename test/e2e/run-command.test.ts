// `k6gate run` with the compiled binary (dist/k6gate) and the k6 double: k6's output streams to
// the terminal and the last line is the verdict; exit 0 on a pass, k6's own code otherwise
// (1, 99, 107), 105 after Ctrl-C with k6's summary printed and no process left, 64 for bad usage
// naming the flag; --json prints one object valid against schemas/verdict.schema.json; a k6
// archive and a script on stdin run; --env reaches the script; nothing is left in the temp dir.

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { COMPILED, K6_DOUBLE, REPO } from '../helpers/daemon.ts';
import { k6Archive } from '../helpers/k6-archive.ts';
import { collect, doubleScript, zombieChildren } from '../helpers/processes.ts';
import { startSlackRecorder } from '../helpers/slack-recorder.ts';

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(
  JSON.parse(readFileSync(join(REPO, 'schemas/verdict.schema.json'), 'utf8')),
);
const dir = mkdtempSync(join(tmpdir(), 'k6gate-run-test-'));
const runTemp = mkdtempSync(join(tmpdir(), 'k6gate-run-temp-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(runTemp, { recursive: true, force: true });
});

function script(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const ENV = { PATH: process.env.PATH ?? '', K6_BINARY: K6_DOUBLE, TEMP_DIR: runTemp };

function spawnRun(
  args: string[],
  opts: { stdin?: Uint8Array | string; env?: Record<string, string> } = {},
) {
  return Bun.spawn([COMPILED, 'run', ...args], {
    env: { ...ENV, ...opts.env },
    stdin: opts.stdin === undefined ? 'ignore' : new Blob([opts.stdin]),
    stdout: 'pipe',
    stderr: 'pipe',
  });
}

const run = (args: string[], opts: Parameters<typeof spawnRun>[1] = {}) =>
  collect(spawnRun(args, opts));

test('a passing script: exit 0, k6 output streamed, the verdict last', async () => {
  const r = await run([script('pass.js', doubleScript('mode=pass duration=1s'))]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('running (0m01.0s)'); // k6's progress, as it printed it
  expect(r.stdout).toContain('█ THRESHOLDS');
  expect(r.last).toBe('k6gate: passed: all thresholds passed');
  expect(readdirSync(runTemp)).toEqual([]); // the run directory is gone
});

test('thresholds crossed: exit 99 and the reason', async () => {
  const r = await run([script('fail.js', doubleScript('mode=fail-thresholds duration=1s'))]);
  expect(r.code).toBe(99);
  expect(r.last).toBe(
    'k6gate: failed to run: exit status 99 (thresholds crossed: http_req_duration)',
  );
});

test('a script error: exit 107', async () => {
  const r = await run([script('boom.js', doubleScript('mode=exception'))]);
  expect(r.code).toBe(107);
  expect(r.stdout).toContain('SyntaxError'); // k6's own words, streamed
  expect(r.last).toBe(
    'k6gate: error while waiting for test to start: k6 exited before starting (exit status 107: script error (exception or syntax error))',
  );
});

test('Ctrl-C: k6 stops cleanly, its summary is printed, exit 105, no process left', async () => {
  const proc = spawnRun([script('hang.js', doubleScript('mode=hang'))]);
  const chunks: string[] = [];
  const reading = (async () => {
    for await (const c of proc.stdout) chunks.push(new TextDecoder().decode(c));
  })();
  while (!chunks.join('').includes('running (0m01')) await Bun.sleep(50);
  proc.kill('SIGINT');
  const code = await proc.exited;
  await reading;
  const out = chunks.join('');
  expect(code).toBe(105);
  expect(out).toContain('█ TOTAL RESULTS'); // k6's end-of-test summary
  expect(out.trimEnd().split('\n').at(-1)).toBe(
    'k6gate: failed to run: exit status 105 (interrupted (Ctrl-C))',
  );
  const left = Bun.spawnSync(['pgrep', '-f', `${dir}/hang.js`])
    .stdout.toString()
    .trim();
  expect(left).toBe('');
  expect(zombieChildren()).toEqual([]);
}, 30_000);

test('--json: one object on stdout, valid against the schema; k6 output on stderr', async () => {
  const pass = await run(['--json', script('j.js', doubleScript('mode=pass duration=1s'))]);
  expect(pass.code).toBe(0);
  const passed = JSON.parse(pass.stdout);
  expect(validate(passed)).toBe(true);
  expect(passed).toMatchObject({ verdict: 'passed', exitCode: 0, runner: 'local' });
  expect(pass.stderr).toContain('█ THRESHOLDS');

  const fail = await run(['--json', script('jf.js', doubleScript('mode=fail-thresholds'))]);
  expect(fail.code).toBe(99);
  const failed = JSON.parse(fail.stdout);
  expect(validate(failed)).toBe(true);
  expect(failed).toMatchObject({
    verdict: 'failed',
    exitCode: 99,
    message: 'failed to run: exit status 99 (thresholds crossed: http_req_duration)',
  });
  expect(failed.thresholds).toContainEqual({
    metric: 'http_req_duration',
    threshold: 'p(95)<200',
    passed: false,
  });
}, 20_000); // two runs of a 1 s test through the compiled binary: 2.2 s here, under 5 s' default

test("k6's own exit codes 1 and 2 pass through; k6gate's own failure is 69, apart from them", async () => {
  for (const code of [1, 2]) {
    const k6 = join(dir, `exits-${code}`);
    writeFileSync(k6, `#!/bin/sh\necho "         output: -"\nexit ${code}\n`, { mode: 0o755 });
    const r = await run([script('x.js', 'export default function () {}')], {
      env: { K6_BINARY: k6 },
    });
    expect(r.code).toBe(code);
  }
  const missing = await run([script('y.js', 'export default function () {}')], {
    env: { K6_BINARY: join(dir, 'no-such-k6') },
  });
  expect(missing.code).toBe(69);
});

test('bad usage: exit 64 naming the flag, no run', async () => {
  const cases: [string[], RegExp][] = [
    [[], /give exactly one of a script file, - \(stdin\) or --configmap/],
    [['--env', 'NOEQUALS', 'x.js'], /--env: expected K=V/],
    [
      ['--env', '1BAD=x', script('e.js', doubleScript('mode=pass'))],
      /--env: environment variable names must match/,
    ],
    [['--runner', 'nope', 'x.js'], /invalid value for --runner \/ RUNNER/],
    [['--no-such-flag', 'v', 'x.js'], /unknown flag --no-such-flag/],
    [['--no-such-flag', 'x.js'], /k6gate run: unknown flag --no-such-flag\n/],
    [['--timeout', '10', 'x.js'], /--timeout: expected a positive Go duration/],
    [[join(dir, 'missing.js')], /missing\.js: no such file/],
    [
      ['x.js', '--', '--summary-export', 'mine.json'],
      /-- --summary-export: k6gate sets --summary-export itself/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    expect({ args, code: r.code }).toEqual({ args, code: 64 });
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  }
});

test('a script on stdin (-) and --env reach k6', async () => {
  const r = await run(['--env', 'GREETING=hello', '-'], {
    stdin: doubleScript('mode=pass duration=1s report-env=GREETING'),
  });
  expect(r.code).toBe(0);
  const sha = new Bun.CryptoHasher('sha256').update('hello').digest('hex');
  expect(r.stdout).toContain(`k6-double env GREETING sha256=${sha}`);
});

test("k6's own flags after --, as given and before the script; a k6gate flag there is k6's", async () => {
  const r = await run(['--env', 'A=1', '-', '--', '--tag', 'team=a', '--no-color'], {
    stdin: doubleScript('mode=pass duration=0s report-argv=true'),
  });
  expect(r.code).toBe(0);
  const line = /k6-double argv (\[.*\])/.exec(r.stdout)?.[1];
  const argv = JSON.parse(line ?? 'null') as string[];
  expect(argv.slice(-4, -1)).toEqual(['--tag', 'team=a', '--no-color']);
  expect(argv.filter((a) => a === '--summary-export')).toHaveLength(1); // k6gate's, not ours
  // A k6gate flag after -- is not k6gate's: k6 gets it (and the double, as k6, refuses it).
  const theirs = await run(['-', '--', '--json'], { stdin: doubleScript('mode=pass') });
  expect(theirs.code).not.toBe(0);
  expect(theirs.stdout).toContain('--json');
});

test("-e K=V is k6's own short form of --env", async () => {
  const r = await run(['-e', 'GREETING=hi', '-'], {
    stdin: doubleScript('mode=pass duration=0s report-env=GREETING'),
  });
  expect(r.code).toBe(0);
  const sha = new Bun.CryptoHasher('sha256').update('hi').digest('hex');
  expect(r.stdout).toContain(`k6-double env GREETING sha256=${sha}`);
});

test('a k6 archive runs as such (its module and data file beside the entry)', async () => {
  const tar = k6Archive('/src/t.js', {
    '/src/t.js':
      "import { who } from './lib.js';\nconst n = JSON.parse(open('./n.json')).n;\nexport default function () { console.log(`from the archive: ${who} ${n}`); }\n",
    '/src/lib.js': "export const who = 'lib';\n",
    '/src/n.json': '{"n": 7}',
  });
  const path = join(dir, 'test.tar');
  writeFileSync(path, tar);
  const r = await run(['--env', 'K6_DOUBLE_MODE=load', path]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('from the archive: lib 7');
  // A pod runner without a Kubernetes client is a usage error (the kube test runs it in a Job).
  const pods = await run(['--runner', 'job', path]);
  expect(pods.code).toBe(64);
  expect(pods.stderr).toContain('"job" needs --kubernetes-client');
});

test("k6's --vus and --duration over the script's options; files beside the script go with it", async () => {
  const seen: string[] = [];
  using target = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (request) => {
      seen.push(new URL(request.url).search);
      return new Response('ok');
    },
  });
  const project = mkdtempSync(join(dir, 'project-'));
  writeFileSync(join(project, 'lib.js'), "export const who = 'lib';\n");
  writeFileSync(join(project, 'data.json'), '{"n": 7}');
  const entry = join(project, 'test.js');
  writeFileSync(
    entry,
    `import http from 'k6/http';
import { who } from './lib.js';
const n = JSON.parse(open('./data.json')).n;
export const options = { vus: 9, duration: '1m' };
export default function () { http.get(\`\${__ENV.TARGET}/?who=\${who}&n=\${n}\`); }
`,
  );
  const r = await run([
    '-e',
    `TARGET=http://127.0.0.1:${target.port}`,
    '--vus',
    '2',
    '--duration',
    '2s',
    entry,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('2 looping VUs for 2s');
  expect(seen.length).toBeGreaterThan(0);
  expect(new Set(seen)).toEqual(new Set(['?who=lib&n=7']));

  // A file outside the script's directory cannot go flat beside it: a k6 archive can.
  writeFileSync(join(dir, 'common.js'), 'export const x = 1;\n');
  writeFileSync(
    join(project, 'up.js'),
    "import { x } from '../common.js';\nexport default function () {}\n",
  );
  const up = await run([join(project, 'up.js')]);
  expect(up.code).toBe(64);
  expect(up.stderr).toContain('uses ../common.js, outside its own directory: make a k6 archive');
  for (const [args, message] of [
    [['--vus', '0', entry], '--vus: expected a whole number above 0, got "0"'],
    [
      ['--duration', 'soon', entry],
      '--duration: expected a positive duration such as 30s or 5m, got "soon"',
    ],
    [['--iterations', '-3', entry], '--iterations'],
  ] as const) {
    const bad = await run([...args]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain(message);
  }
}, 30_000);

test('--help tells the run flags and exit codes', async () => {
  const r = await run(['--help']);
  expect(r.code).toBe(0);
  for (const flag of [
    '--env',
    '--secret',
    '--configmap',
    '--runner',
    '--parallelism',
    '--upload-to-cloud',
    '--slack-channel',
    '--timeout',
    '--json',
  ])
    expect(r.stdout).toContain(flag);
  expect(r.stdout).toContain('105 after Ctrl-C');
});

test('--slack-channel: the run is announced and its verdict posted before k6gate exits', async () => {
  const slack = startSlackRecorder();
  try {
    const r = await run(
      ['--slack-channel', 'team-a', script('slack.js', doubleScript('mode=fail-thresholds'))],
      { env: { SLACK_TOKEN: 'xoxb-run-command-test', SLACK_API_URL: slack.apiUrl } },
    );
    expect(r.code).toBe(99);
    expect(slack.methods()).toContain('chat.postMessage');
    const update = slack.calls.find((c) => c.method === 'chat.update');
    expect(JSON.stringify(update?.params)).toContain('has failed: thresholds crossed');
    expect(slack.methods()).toContain('upload'); // k6-results.txt in the thread
    expect(r.stdout + r.stderr).not.toContain('xoxb-run-command-test');
  } finally {
    await slack.stop();
  }
});

test('--timeout stops the run at its deadline (k6 stops cleanly: 105)', async () => {
  const r = await run(['--timeout', '1s', script('long.js', doubleScript('mode=hang'))]);
  expect(r.code).toBe(105);
  expect(r.stdout).toContain('█ TOTAL RESULTS');
  expect(r.last).toBe(
    'k6gate: failed to run: exit status 105 (stopped at the run deadline (max run duration))',
  );
}, 30_000);

test('--upload-to-cloud: k6 streams to k6 Cloud with the token from the environment', async () => {
  const r = await run(
    ['--json', '--upload-to-cloud', script('cloud.js', doubleScript('mode=pass'))],
    {
      env: { K6_CLOUD_TOKEN: 'cloud-token-for-test' },
    },
  );
  expect(r.code).toBe(0);
  const verdict = JSON.parse(r.stdout);
  expect(validate(verdict)).toBe(true);
  expect(verdict.cloudUrl).toMatch(/^https:\/\/app\.k6\.io\/runs\/\d+$/);
  expect(r.stdout + r.stderr).not.toContain('cloud-token-for-test');
});

test('daemon settings apply: remote write tags the run and the dashboard link comes before the verdict', async () => {
  const r = await run([
    '--namespace',
    'team-a',
    '--name',
    'web',
    '--prometheus-rw-url',
    'http://127.0.0.1:9/api/v1/write',
    '--grafana-url',
    'http://127.0.0.1:3000/d/k6',
    script('rw.js', doubleScript('mode=pass report-argv=true')),
  ]);
  expect(r.code).toBe(0);
  // k6's stderr shares its pipe with stdout, streamed in order.
  expect(r.stdout).toMatch(
    /k6-double argv \["run","--out","experimental-prometheus-rw","--tag","testid=team-a\/web\/[0-9a-f-]+"/,
  );
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines.at(-2)).toMatch(
    /^k6gate: dashboard: http:\/\/127\.0\.0\.1:3000\/d\/k6\?var-testid=team-a%2Fweb%2F[0-9a-f-]+$/,
  );
  expect(lines.at(-1)).toBe('k6gate: passed: all thresholds passed');
});

// Bun's process.stdout keeps what a full pipe did not take yet and process.exit drops it: behind
// 64 KiB of k6 output, a reader busy for a moment (a CI log collector) got neither the rest of
// the output nor the verdict (src/os/stdio.ts).
describe('what k6gate run prints all arrives', () => {
  const noisy = () => script('noisy.js', doubleScript('mode=pass duration=0s stderr-lines=3000'));
  const shell = (pipeline: string, args: string[]) =>
    collect(
      Bun.spawn(['bash', '-c', pipeline, 'bash', COMPILED, 'run', ...args], {
        env: ENV,
        stdin: 'ignore',
        stdout: 'pipe',
        stderr: 'pipe',
      }),
    );

  test('to a reader that waits a second: all of k6 output, then the verdict', async () => {
    const r = await shell('"$@" | (sleep 1; cat)', [noisy()]);
    expect(r.stdout.match(/k6-double stderr line \d+"/g)).toHaveLength(3000);
    expect(r.stdout).toContain('█ THRESHOLDS');
    expect(r.last).toBe('k6gate: passed: all thresholds passed');
  });

  test('--json to a reader that waits a second: the whole object', async () => {
    const r = await shell('"$@" 2>/dev/null | (sleep 1; cat)', ['--json', noisy()]);
    expect(validate(JSON.parse(r.stdout))).toBe(true);
  });

  test('to a file: all of it, in order (nothing truncates it)', async () => {
    const out = join(dir, 'out.txt');
    const r = await shell(`"$@" > ${out}; echo "exit $?"`, [noisy()]);
    expect(r.stdout).toBe('exit 0\n');
    const text = readFileSync(out, 'utf8');
    expect(text).not.toContain('\0');
    expect(text.match(/k6-double stderr line \d+"/g)).toHaveLength(3000);
    expect(text.trimEnd().split('\n').at(-1)).toBe('k6gate: passed: all thresholds passed');
  });

  test('to a reader that goes away (| head): the verdict exit code, no error', async () => {
    const failing = script('fails.js', doubleScript('mode=fail-thresholds stderr-lines=3000'));
    const r = await shell('"$@" | head -c 100 >/dev/null; echo "exit ${PIPESTATUS[0]}"', [failing]);
    expect(r.stdout).toBe('exit 99\n');
    expect(r.stderr).toBe('');
  });

  test('to a full disk: the verdict exit code, and the failure said once', async () => {
    const r = await shell('"$@" > /dev/full; echo "exit $?"', [noisy()]);
    expect(r.stdout).toBe('exit 0\n');
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^k6gate: cannot write to standard output: .*(ENOSPC|space)/i),
    ]);
  });
});
