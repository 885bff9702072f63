// What k6gate reads from k6's output: the banner's `output:` line (the run has started), the
// k6 Cloud URL, and which thresholds were crossed. Tolerant of v0.x/v1/v2 padding.

// A whole line, so a cloud URL split across two reads is never missed.
const OUTPUT_LINE = /^[ \t]*output:[ \t][^\n]*\n/m;
// `output: cloud (https://app.k6.io/runs/123)` or `output: -, cloud (https://x.grafana.net/a/k6-app/runs/9)`
const CLOUD_URL = /^[ \t]*output:.*?\bcloud \((https:\/\/[^)\s]+)\)/m;
const CROSSED = /thresholds on metrics '([^']+)' (?:have been|were) crossed/;

/** k6's whole `output:` line once it printed its execution description (it has initialised and
 * started its outputs), else undefined. */
export function findBannerOutputLine(text: string): string | undefined {
  return OUTPUT_LINE.exec(text)?.[0];
}

/** The k6 Cloud results URL from the banner, in the app.k6.io or the grafana.net form. */
export function parseCloudUrl(text: string): string | undefined {
  return CLOUD_URL.exec(text)?.[1];
}

/** Names of the metrics whose thresholds k6 reported as crossed. */
export function parseCrossedThresholds(text: string): string[] {
  const match = CROSSED.exec(text);
  if (!match?.[1]) return [];
  return match[1]
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
}

/** k6's output without its logo: everything before the execution description goes (when the
 * description is near the top; otherwise the text is returned whole). */
export function dropBanner(text: string): string {
  const lines = text.split('\n');
  const at = lines.slice(0, 40).findIndex((l) => /^\s*execution: /.test(l));
  return at > 0 ? lines.slice(at).join('\n') : text;
}
