// Kubernetes resource quantities ("500m", "2", "256Mi", "1G") as numbers, so a request can be
// compared with a ceiling. Only the suffixes runner_resources accepts (flagger/pod-options.ts).

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};
const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;

/** The quantity's value in base units (cores, bytes); NaN when it is not one. */
export function quantityValue(text: string): number {
  const m = QUANTITY.exec(text);
  if (!m?.[1]) return Number.NaN;
  return Number(m[1]) * (SUFFIX[m[2] ?? ''] ?? Number.NaN);
}
