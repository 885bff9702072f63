import { expect, test } from 'bun:test';
import { createLogger } from '../../src/core/log.ts';

const capture = (format: 'json' | 'text', level: 'debug' | 'info' = 'info') => {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    format,
    write: (l: string) => lines.push(l),
    now: () => new Date('2026-11-24T00:00:00Z'),
  });
  return { logger, lines };
};

test('json: one parseable object per line, bound fields from child loggers', () => {
  const { logger, lines } = capture('json');
  logger.child({ requestId: 'r1', canary: 'ns/app' }).info('launched k6', { pid: 42 });
  logger.debug('hidden at info');
  expect(lines).toHaveLength(1);
  expect(lines[0]?.endsWith('\n')).toBe(true);
  expect(JSON.parse(lines[0] as string)).toEqual({
    time: '2026-11-24T00:00:00.000Z',
    level: 'info',
    msg: 'launched k6',
    requestId: 'r1',
    canary: 'ns/app',
    pid: 42,
  });
});

test('json: errors keep name, message, stack and cause, not {}', () => {
  const { logger, lines } = capture('json');
  const err = new TypeError('bad thing', { cause: new Error('root') });
  logger.error('boom', { err });
  const logged = JSON.parse(lines[0] as string).err;
  expect(logged).toMatchObject({
    name: 'TypeError',
    message: 'bad thing',
    cause: { name: 'Error', message: 'root' },
  });
  expect(logged.stack).toBe(err.stack);
  expect(logged.stack).toContain('log.test.ts');
});

test('json: circular values, BigInt and throwing getters never break the line', () => {
  const { logger, lines } = capture('json');
  const loop: Record<string, unknown> = { a: 1 };
  loop.self = loop;
  logger.info('odd', { loop, big: 12n });
  expect(JSON.parse(lines[0] as string)).toMatchObject({
    loop: { a: 1, self: '[Circular]' },
    big: '12',
  });
  const hostile = {
    get x() {
      throw new Error('nope');
    },
  };
  logger.warn('hostile', { hostile });
  expect(JSON.parse(lines[1] as string)).toMatchObject({
    level: 'warn',
    msg: 'hostile',
    logError: expect.stringContaining('nope'),
  });
});

test('text: an error prints its stack on the lines below', () => {
  const { logger, lines } = capture('text');
  logger.error('internal error', { err: new Error('kaput') });
  expect(lines[0]).toMatch(/^\S+ ERROR internal error err=kaput\n {4}Error: kaput\n {4} +at /);
});

test('text: a human line, quoting values with spaces', () => {
  const { logger, lines } = capture('text', 'debug');
  logger.warn('k6 did not stop', { reason: 'client gone', pid: 7 });
  expect(lines[0]).toBe(
    '2026-11-24T00:00:00.000Z WARN  k6 did not stop reason="client gone" pid=7\n',
  );
});

test('journal text: no timestamp (journald adds it), each line with its syslog priority', () => {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    format: 'text',
    journal: true,
    write: (l: string) => lines.push(l),
  });
  logger.warn('k6 did not stop', { reason: 'client gone' });
  logger.info('listening', { port: 8443 });
  logger.error('internal error', { err: new Error('kaput') });
  expect(lines[0]).toBe('<4>WARN  k6 did not stop reason="client gone"\n');
  expect(lines[1]).toBe('<6>INFO  listening port=8443\n');
  // The stack's lines are entries too, at the same priority.
  expect(lines[2]).toMatch(/^<3>ERROR internal error err=kaput\n<3> {4}Error: kaput\n<3> {4} +at /);
});

// The default sink is console.error (core/log.ts): each line written whole before an exit, a
// message's `%s` kept as it is, text lines (several physical lines) kept apart.
test('the default sink: stderr, literal text, nothing lost at exit', () => {
  const script = `
    import { createLogger } from ${JSON.stringify(`${import.meta.dir}/../../src/core/log.ts`)};
    const json = createLogger({ level: 'info', format: 'json' });
    const text = createLogger({ level: 'info', format: 'text' });
    json.info('100%s done %d', { big: 'x'.repeat(300000) });
    text.warn('two', { err: new Error('with a stack') });
    json.info('last');
    process.exit(0);`;
  const out = Bun.spawnSync([process.execPath, '-e', script], { stderr: 'pipe', stdout: 'pipe' });
  expect(out.stdout.toString()).toBe('');
  const lines = out.stderr.toString().split('\n');
  expect(JSON.parse(lines[0]!)).toMatchObject({ msg: '100%s done %d', big: 'x'.repeat(300000) });
  expect(lines[1]).toMatch(/ WARN +two err="with a stack"$/);
  expect(lines[2]).toMatch(/^ {4}Error: with a stack$/);
  expect(JSON.parse(lines.at(-2)!)).toMatchObject({ msg: 'last' });
  expect(lines.at(-1)).toBe('');
});

test('json: a line of plain fields is the same as one through the replacer', () => {
  const { logger, lines } = capture('json');
  logger.info('plain', { a: 'x', n: 1, b: true, z: null, u: undefined });
  logger.info('mixed', { a: 'x', big: 10n, nested: { e: new Error('inner') } });
  expect(JSON.parse(lines[0]!)).toEqual({
    time: '2026-11-24T00:00:00.000Z',
    level: 'info',
    msg: 'plain',
    a: 'x',
    n: 1,
    b: true,
    z: null,
  });
  const mixed = JSON.parse(lines[1]!);
  expect(mixed.big).toBe('10');
  expect(mixed.nested.e).toMatchObject({ name: 'Error', message: 'inner' });
});
