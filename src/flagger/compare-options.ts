// The metadata keys of a relative verdict: `compare` (the rules), `baseline` (primary or
// last-promoted), `baseline_env_vars` (what the primary run gets instead, e.g. its TARGET) and
// `baseline_missing` (pass or fail when there is no baseline yet). Validated on arrival: a 400
// names the key, and for a rule, the rule and what is wrong.

import { BadRequest } from '../core/errors.ts';
import {
  BASELINE_KINDS,
  parseCompareRules,
  type BaselineKind,
  type CompareRule,
} from '../k6/compare.ts';

export const COMPARE_KEYS = [
  'compare',
  'baseline',
  'baseline_env_vars',
  'baseline_missing',
] as const;

export interface CompareOptions {
  baseline: BaselineKind;
  rules: CompareRule[];
  /** Merged over env_vars for the primary's run. */
  baselineEnvVars: Record<string, string>;
  /** The verdict when there is no baseline to compare with: the absolute thresholds alone
   * decide (`pass`, the default) or the run fails (`fail`). */
  whenMissing: 'pass' | 'fail';
}

/** The compare options of a request, or undefined when it has no `compare` rules. `envMap`
 * decodes a JSON-in-a-string environment map (payload.ts's env_vars rules). */
export function parseCompareOptions(
  m: Readonly<Record<string, string>>,
  envMap: (text: string | undefined, key: 'baseline_env_vars') => Record<string, string>,
): CompareOptions | undefined {
  const text = m.compare?.trim() ?? '';
  if (text === '') {
    const stray = COMPARE_KEYS.find((k) => k !== 'compare' && (m[k] ?? '') !== '');
    if (stray) throw new BadRequest(`metadata.${stray}`, 'needs metadata.compare (the rules)');
    return undefined;
  }
  let rules: CompareRule[];
  try {
    rules = parseCompareRules(text);
  } catch (err) {
    throw new BadRequest('metadata.compare', (err as Error).message);
  }
  const baseline = parseBaseline(m.baseline);
  const baselineEnvVars = envMap(m.baseline_env_vars, 'baseline_env_vars');
  if (baseline !== 'primary' && Object.keys(baselineEnvVars).length > 0) {
    throw new BadRequest('metadata.baseline_env_vars', 'only used with baseline "primary"');
  }
  return { baseline, rules, baselineEnvVars, whenMissing: parseWhenMissing(m.baseline_missing) };
}

function parseBaseline(text: string | undefined): BaselineKind {
  if (text === undefined || text === '') return 'last-promoted';
  const kind = BASELINE_KINDS.find((k) => k === text);
  if (!kind) {
    throw new BadRequest(
      'metadata.baseline',
      `expected ${BASELINE_KINDS.map((k) => `"${k}"`).join(' or ')}`,
    );
  }
  return kind;
}

function parseWhenMissing(text: string | undefined): 'pass' | 'fail' {
  if (text === undefined || text === '' || text === 'pass') return 'pass';
  if (text === 'fail') return 'fail';
  throw new BadRequest('metadata.baseline_missing', 'expected "pass" (the default) or "fail"');
}
