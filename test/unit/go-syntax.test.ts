import { describe, expect, test } from 'bun:test';
import { formatGoDuration, parseGoBool, parseGoDuration } from '../../src/core/go-syntax.ts';

describe('parseGoBool (strconv.ParseBool)', () => {
  test.each(['1', 't', 'T', 'TRUE', 'true', 'True'])('%p is true', (s) => {
    expect(parseGoBool(s)).toBe(true);
  });
  test.each(['0', 'f', 'F', 'FALSE', 'false', 'False'])('%p is false', (s) => {
    expect(parseGoBool(s)).toBe(false);
  });
  test.each(['yes', 'no', 'tRUE', ' true', 'true ', '2', ''])('%p is rejected', (s) => {
    expect(parseGoBool(s)).toBeUndefined();
  });
});

describe('parseGoDuration (time.ParseDuration)', () => {
  test.each([
    ['0', 0],
    ['2m', 120_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['300ms', 300],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['1000000ns', 1],
    ['-1s', -1000],
    ['+1s', 1000],
    ['1h2m3s4ms', 3_723_004],
    ['0s', 0],
  ])('%p = %p ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 6);
  });
  test.each(['', 'bad', '1', '1d', '1 s', 's', '1.s.', '-', '1sm', '2M', '1h 2m'])(
    '%p is rejected',
    (text) => {
      expect(parseGoDuration(text)).toBeUndefined();
    },
  );
  test('formats like Go', () => {
    expect(formatGoDuration(120_000)).toBe('2m0s');
    expect(formatGoDuration(1500)).toBe('1.5s');
    expect(formatGoDuration(300)).toBe('300ms');
    expect(formatGoDuration(3_723_000)).toBe('1h2m3s');
    expect(formatGoDuration(0)).toBe('0s');
  });
});
