// Go's value grammars that Flagger metadata relies on: strconv.ParseBool and time.ParseDuration.
// The original parses metadata with these, so k6gate accepts and rejects exactly the same strings.

const TRUE_SPELLINGS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_SPELLINGS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool: the 12 spellings Go accepts; undefined for anything else. */
export function parseGoBool(text: string): boolean | undefined {
  if (TRUE_SPELLINGS.has(text)) return true;
  if (FALSE_SPELLINGS.has(text)) return false;
  return undefined;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION_PART = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** time.ParseDuration, in milliseconds: `[-+]?` then number+unit pairs (`1h2m3.5s`), or `0`.
 * Returns undefined when Go would reject the text. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest !== '') {
    const match = DURATION_PART.exec(rest);
    if (!match) return undefined;
    const [whole, number, unit] = match as unknown as [string, string, string];
    total += Number(number) * (UNIT_MS[unit] ?? Number.NaN);
    rest = rest.slice(whole.length);
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

/** Formats milliseconds the way Go prints a time.Duration (`2m0s`, `1.5s`, `300ms`). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${trimNumber(rest)}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = `${trimNumber(rest / 1000)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

function trimNumber(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}
