// What k6gate reads from k6's output: the banner's `output:` line (the run has started), the
// k6 Cloud URL, and which thresholds were crossed. Tolerant of v0.x/v1/v2 padding.

// A whole line, so a cloud URL split across two reads is never missed.
const OUTPUT_LINE = /^[ \t]*output:[ \t][^\n]*\n/m;
// `output: cloud (https://app.k6.io/runs/123)` or `output: -, cloud (https://x.grafana.net/a/k6-app/runs/9)`
const CLOUD_URL = /^[ \t]*output:.*?\bcloud \((https:\/\/[^)\s]+)\)/m;
const CROSSED = /thresholds on metrics '([^']+)' (?:have been|were) crossed/;
// A metric name as k6 allows it (letters, digits, "_", at most 128), with an optional
// sub-metric selector of tags ({status:200}, {scenario:smoke,expected_response:true}).
const METRIC_NAME = /^[A-Za-z0-9_]{1,128}(\{[A-Za-z0-9_.:, -]{1,256}\})?$/;

/** k6's whole `output:` line once it printed its execution description (it has initialised and
 * started its outputs), else undefined. */
export function findBannerOutputLine(text: string): string | undefined {
  return OUTPUT_LINE.exec(text)?.[0];
}

/** The k6 Cloud results URL from the banner, in the app.k6.io or the grafana.net form. */
export function parseCloudUrl(text: string): string | undefined {
  return CLOUD_URL.exec(text)?.[1];
}

/** Names of the metrics whose thresholds k6 reported as crossed; a name outside k6's metric
 * grammar is dropped (the line is the script's to print, so it may carry anything). */
export function parseCrossedThresholds(text: string): string[] {
  const match = CROSSED.exec(text);
  if (!match?.[1]) return [];
  return splitNames(match[1]).filter((m) => METRIC_NAME.test(m));
}

// Comma-separated names, where a sub-metric's selector may itself hold commas.
function splitNames(list: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of list) {
    if (ch === ',' && depth === 0) {
      names.push(current.trim());
      current = '';
      continue;
    }
    if (ch === '{') depth++;
    if (ch === '}') depth = Math.max(0, depth - 1);
    current += ch;
  }
  names.push(current.trim());
  return names.filter(Boolean);
}

// A line of k6's logo (v0.x and the v1/v2 "Grafana" banner) or a blank line.
const LOGO_LINE = /^[\s/\\|_()‾<>.'-]*(Grafana[\s/\\|_()‾<>.'-]*)?$/u;

/** k6's output without its logo: the logo and blank lines before the execution description go
 * (when the description is near the top); anything else printed there (a warning) stays. Flagger
 * shows an answer's body in the Canary's events, where ASCII art only buries the reason. */
export function dropBanner(text: string): string {
  // Only the first 40 lines are looked at and split: an output of a megabyte costs what a short
  // one does (each run's answer and record take it; bench/README.md, "Session 15").
  const lines = headLines(text, 40);
  const at = lines.findIndex((l) => /^\s*execution: /.test(l));
  if (at <= 0) return text;
  const head = lines.slice(0, at);
  const rest = text.slice(head.join('\n').length + 1); // from the description's line on
  return [...head.filter((l) => !LOGO_LINE.test(l)), rest].join('\n');
}

/** The last `n` lines of `text` without its trailing whitespace (fewer when it has fewer), read
 * back from its end: what `text.trimEnd().split('\n').slice(-n)` gives, at the cost of the tail
 * alone (an output may be a megabyte; progress and tails are read while it grows). */
export function lastLines(text: string, n: number): string[] {
  const lines: string[] = [];
  findLastLine(text, (line) => (lines.push(line), lines.length >= n));
  return lines.reverse();
}

/** The last line of `text` without its trailing whitespace ('' for an empty text): what
 * `text.trimEnd().split('\n').pop()` gives, read back from its end. */
export const lastLine = (text: string): string => findLastLine(text, () => true) ?? '';

/** The last line of `text` (trailing whitespace dropped) for which `wanted` holds, read back from
 * its end; undefined when none does. */
export function findLastLine(text: string, wanted: (line: string) => boolean): string | undefined {
  const t = text.trimEnd();
  let end = t.length;
  for (;;) {
    const nl = end === 0 ? -1 : t.lastIndexOf('\n', end - 1);
    const line = t.slice(nl + 1, end);
    if (wanted(line)) return line;
    if (nl === -1) return undefined;
    end = nl;
  }
}

// The first `n` lines of `text` (fewer when it has fewer), without splitting the rest.
function headLines(text: string, n: number): string[] {
  let end = -1;
  for (let i = 0; i < n; i++) {
    end = text.indexOf('\n', end + 1);
    if (end === -1) return text.split('\n');
  }
  return text.slice(0, end).split('\n');
}
