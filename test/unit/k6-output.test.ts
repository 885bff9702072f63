import { describe, expect, test } from 'bun:test';
import { buildChildEnv, buildK6Args, reservedEnvReason } from '../../src/k6/invocation.ts';
import { explainExitCode, K6_EXIT, knownExitCodes } from '../../src/k6/exit-codes.ts';
import {
  dropBanner,
  findLastLine,
  lastLine,
  lastLines,
  findBannerOutputLine,
  parseCloudUrl,
  parseCrossedThresholds,
} from '../../src/k6/output.ts';

const BANNER_V1 = `
     execution: local
        script: /tmp/k6-script504149289
        output: cloud (https://somewhere.grafana.net/a/k6-app/runs/1157843)
`;
const BANNER_LEGACY = `  execution: local
     script: /tmp/k6-script1
     output: cloud (https://app.k6.io/runs/1157843)
`;

describe('banner and cloud URL', () => {
  test('the output: line marks the start, in both paddings', () => {
    expect(findBannerOutputLine(BANNER_V1)).toBe(
      '        output: cloud (https://somewhere.grafana.net/a/k6-app/runs/1157843)\n',
    );
    expect(findBannerOutputLine(BANNER_LEGACY)).toBe(
      '     output: cloud (https://app.k6.io/runs/1157843)\n',
    );
    expect(findBannerOutputLine('        output: -\n')).toBe('        output: -\n');
    expect(findBannerOutputLine('execution: local\n')).toBeUndefined();
    expect(findBannerOutputLine('msg="no output: here"\n')).toBeUndefined();
  });
  test('a line cut mid-URL is not the banner yet (the URL would be lost)', () => {
    expect(findBannerOutputLine('   output: cloud (https://app.k6.io/ru')).toBeUndefined();
  });
  test('both cloud URL forms', () => {
    expect(parseCloudUrl(BANNER_V1)).toBe('https://somewhere.grafana.net/a/k6-app/runs/1157843');
    expect(parseCloudUrl(BANNER_LEGACY)).toBe('https://app.k6.io/runs/1157843');
    expect(parseCloudUrl('output: -, cloud (https://app.k6.io/runs/7)')).toBe(
      'https://app.k6.io/runs/7',
    );
    expect(parseCloudUrl('        output: -\n')).toBeUndefined();
    expect(parseCloudUrl('output: cloud (http://insecure/runs/1)')).toBeUndefined();
  });
  test('crossed thresholds', () => {
    expect(
      parseCrossedThresholds(
        `time="…" level=error msg="thresholds on metrics 'http_req_duration, http_req_failed' have been crossed"`,
      ),
    ).toEqual(['http_req_duration', 'http_req_failed']);
    expect(parseCrossedThresholds('nothing')).toEqual([]);
    // Sub-metrics keep their selector (commas inside it included).
    expect(
      parseCrossedThresholds(
        "thresholds on metrics 'http_req_duration{status:200}, checks{scenario:a,expected_response:true}' have been crossed",
      ),
    ).toEqual(['http_req_duration{status:200}', 'checks{scenario:a,expected_response:true}']);
  });
  test("a script's forged threshold line yields only names in k6's metric grammar", () => {
    expect(
      parseCrossedThresholds(
        "thresholds on metrics '<!channel> <https://evil.example/login|View k6 report>, http_req_failed' have been crossed",
      ),
    ).toEqual(['http_req_failed']);
  });
});

describe('exit-code table', () => {
  test.each([
    [0, 'passed'],
    [99, 'failed'],
    [97, 'failed'],
    [104, 'error'],
    [107, 'error'],
    [105, 'aborted'],
    [108, 'failed'],
    [110, 'failed'],
    [255, 'error'],
    [1, 'error'],
  ])('%d → %s', (code, verdict) => {
    expect(explainExitCode(code).verdict).toBe(verdict as never);
  });
  test('every named code is in the table', () => {
    for (const code of Object.values(K6_EXIT)) expect(knownExitCodes()).toContain(code);
  });
  test('unknown codes say so', () => {
    expect(explainExitCode(42).reason).toBe('unknown k6 exit code 42');
  });
});

describe('child environment', () => {
  const daemonEnv = {
    PATH: '/usr/bin',
    SLACK_TOKEN: 'xoxb-daemon',
    K6_CLOUD_TOKEN: 'daemon-cloud',
    KUBERNETES_SERVICE_HOST: '10.0.0.1',
    HTTPS_PROXY: 'http://proxy:3128',
  };
  const base = {
    daemonEnv,
    path: '/usr/bin',
    runDir: '/tmp/run',
    runId: 'r1',
    cloudToken: 'cfg-token',
  };
  test('only what k6 needs: no daemon secrets', () => {
    const env = buildChildEnv({ ...base, uploadToCloud: false, envVars: {}, secrets: {} });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HTTPS_PROXY: 'http://proxy:3128',
      HOME: '/tmp/run',
      TMPDIR: '/tmp/run',
      K6_NO_USAGE_REPORT: 'true',
      K6_AUTO_EXTENSION_RESOLUTION: 'false',
      K6GATE_RUN_ID: 'r1',
    });
  });
  test('the cloud token only when uploading; secrets override env_vars', () => {
    const env = buildChildEnv({
      ...base,
      uploadToCloud: true,
      envVars: { A: 'env', B: 'env' },
      secrets: { B: 'secret' },
    });
    expect(env.K6_CLOUD_TOKEN).toBe('cfg-token');
    expect(env.A).toBe('env');
    expect(env.B).toBe('secret');
    expect(env.SLACK_TOKEN).toBeUndefined();
  });
  test("k6gate's own variables are set after the caller's", () => {
    const env = buildChildEnv({
      ...base,
      uploadToCloud: true,
      envVars: { PATH: '/evil', HOME: '/', K6_NO_USAGE_REPORT: 'false', K6_CLOUD_TOKEN: 'theirs' },
      secrets: {},
    });
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      HOME: '/tmp/run',
      K6_NO_USAGE_REPORT: 'true',
      K6_CLOUD_TOKEN: 'cfg-token',
    });
  });
  test.each([
    ['PATH', true],
    ['LD_PRELOAD', true],
    ['LD_LIBRARY_PATH', true],
    ['K6_CLOUD_HOST', true],
    ['K6_CLOUD_TOKEN', true],
    ['K6_OUT', true],
    ['K6_NO_USAGE_REPORT', true],
    ['K6_PROMETHEUS_RW_SERVER_URL', true],
    ['https_proxy', true],
    ['HOME', true],
    ['TMPDIR', true],
    ['K6GATE_RUN_ID', true],
    ['XDG_CONFIG_HOME', true],
    ['K6_BROWSER_EXECUTABLE_PATH', true],
    ['K6_BROWSER_ARGS', true],
    ['K6_NO_THRESHOLDS', true],
    ['K6_BROWSER_HEADLESS', false],
    ['K6_VUS', false],
    ['K6_DURATION', false],
    ['BASE_URL', false],
    ['DB_PASSWORD', false],
  ])('%s reserved: %p', (name, reserved) => {
    expect(reservedEnvReason(name) !== undefined).toBe(reserved);
  });
  test('argv: run [--out cloud] [--out experimental-prometheus-rw --tag testid=…] <script>', () => {
    expect(buildK6Args('/r/s.js', { uploadToCloud: false })).toEqual(['run', '/r/s.js']);
    expect(buildK6Args('/r/s.js', { uploadToCloud: true })).toEqual([
      'run',
      '--out',
      'cloud',
      '/r/s.js',
    ]);
    const rw = { url: 'http://prom:9090/api/v1/write', testId: 'team-a/web/r1' };
    expect(buildK6Args('/r/s.js', { uploadToCloud: false, prometheusRw: rw })).toEqual([
      'run',
      '--out',
      'experimental-prometheus-rw',
      '--tag',
      'testid=team-a/web/r1',
      '/r/s.js',
    ]);
    // `k6gate run … -- <flags>`: after k6gate's own, before the script.
    expect(buildK6Args('/r/s.js', { uploadToCloud: true, k6Args: ['--http-debug'] })).toEqual([
      'run',
      '--out',
      'cloud',
      '--http-debug',
      '/r/s.js',
    ]);
  });
});

test("dropBanner: k6's logo and blank lines before the description go, a warning stays", () => {
  const logo = [
    '',
    '         /\\      Grafana   /‾‾/  ',
    '    /\\  /  \\     |\\  __   /  /   ',
    '   /  \\/    \\    | |/ /  /   ‾‾\\ ',
    '  /          \\   |   (  |  (‾)  |',
    ' / __________ \\  |_|\\_\\  \\_____/ ',
    '',
  ].join('\n');
  const rest = '     execution: local\n        script: test.js\n        output: -\n';
  expect(dropBanner(`${logo}\n${rest}`)).toBe(rest);
  const warned = `${logo}\ntime="…" level=warning msg="deprecated option"\n${rest}`;
  expect(dropBanner(warned)).toBe(`time="…" level=warning msg="deprecated option"\n${rest}`);
  // No description near the top (an init error): the text is returned whole.
  const initError = `${logo}\ntime="…" level=error msg="SyntaxError"\n`;
  expect(dropBanner(initError)).toBe(initError);
});

test('dropBanner: the same text as splitting the whole output, for outputs short and long', () => {
  const whole = (text: string) => {
    const lines = text.split('\n');
    const at = lines.slice(0, 40).findIndex((l) => /^\s*execution: /.test(l));
    if (at <= 0) return text;
    const logo = /^[\s/\\|_()‾<>.'-]*(Grafana[\s/\\|_()‾<>.'-]*)?$/u;
    return [...lines.slice(0, at).filter((l) => !logo.test(l)), ...lines.slice(at)].join('\n');
  };
  const logo = '\n         /\\      Grafana   /‾‾/  \n    /\\  /  \\     |\\  __   /  /   \n';
  const body = '     execution: local\n        script: s.js\n\nrunning (00m01.0s)\n';
  const cases = [
    `${logo}${body}`,
    `${logo}warning: x\n${body}`,
    `${logo}${body}${'progress line\n'.repeat(5000)}`,
    `${'\n'.repeat(39)}     execution: local\n`, // the description on the 40th line
    `${'\n'.repeat(40)}     execution: local\n`, // on the 41st: kept whole
    'no newline at all',
    `     execution: local\n${body}`, // at the top: nothing before it
    '',
  ];
  for (const text of cases) expect(dropBanner(text)).toBe(whole(text));
});

test('lastLine, lastLines and findLastLine: what splitting the trimmed text gives, read from its end', () => {
  const texts = [
    '',
    '\n',
    'one',
    'a\nb\nc',
    'a\n\nb\n\n',
    '\nb',
    '\n\n\nx\n  \n',
    'x\n'.repeat(100),
  ];
  for (const text of texts) {
    const lines = text.trimEnd().split('\n');
    for (const n of [1, 2, 3, 50, 500]) expect(lastLines(text, n)).toEqual(lines.slice(-n));
    expect(lastLine(text)).toBe(lines.at(-1) ?? '');
    expect(findLastLine(text, (l) => l.startsWith('a'))).toBe(
      lines.findLast((l) => l.startsWith('a')),
    );
    expect(findLastLine(text, () => false)).toBeUndefined();
  }
  const big = `running (0m01s)\n${'progress\n'.repeat(200_000)}summary`;
  expect(findLastLine(big, (l) => l.startsWith('running'))).toBe('running (0m01s)');
  expect(lastLines(big, 2)).toEqual(['progress', 'summary']);
  expect(lastLine(big)).toBe('summary');
});
