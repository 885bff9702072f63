import { expect, test } from 'bun:test';
import { createLogger } from '../../src/log.ts';

const capture = (format: 'json' | 'text', level: 'debug' | 'info' = 'info') => {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    format,
    write: (l) => lines.push(l),
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

test('json: errors become name and message, not {}', () => {
  const { logger, lines } = capture('json');
  logger.error('boom', { err: new TypeError('bad thing') });
  expect(JSON.parse(lines[0] as string).err).toEqual({ name: 'TypeError', message: 'bad thing' });
});

test('text: a human line, quoting values with spaces', () => {
  const { logger, lines } = capture('text', 'debug');
  logger.warn('k6 did not stop', { reason: 'client gone', pid: 7 });
  expect(lines[0]).toBe(
    '2026-11-24T00:00:00.000Z WARN  k6 did not stop reason="client gone" pid=7\n',
  );
});
