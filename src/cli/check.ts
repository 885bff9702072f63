// `k6gate check <canary.yaml>…`: validates the k6gate webhooks of Flagger Canaries offline, with
// the daemon's own parser — metadata keys (and their typos), JSON-in-a-string values, durations,
// compare rules — so a CI job finds what /launch-test would refuse before a rollout does. A
// webhook is k6gate's when its URL ends in /launch-test. Prints one line per webhook; exit 0
// when every one is valid, 1 when one is not, 2 when a file cannot be read as YAML.

import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { FieldError } from '../core/errors.ts';
import { parseLaunchPayload } from '../flagger/payload.ts';

const USAGE = `Usage: k6gate check <canary.yaml>…

Validates the metadata of every webhook whose URL ends in /launch-test in the Canaries of the
given files (multi-document YAML; other kinds are skipped) with k6gate's own parser.
Exit codes: 0 all valid, 1 a webhook is invalid, 2 a file cannot be read.
`;

// The parts of a Canary this reads; anything else in it is left alone.
const CanarySchema = v.looseObject({
  kind: v.literal('Canary'),
  metadata: v.optional(
    v.looseObject({
      name: v.optional(v.string(), ''),
      namespace: v.optional(v.string(), 'default'),
    }),
    {},
  ),
  spec: v.optional(
    v.looseObject({
      analysis: v.optional(
        v.looseObject({
          webhooks: v.optional(
            v.array(
              v.looseObject({
                name: v.optional(v.string(), '?'),
                type: v.optional(v.string(), 'pre-rollout'),
                url: v.optional(v.string(), ''),
                metadata: v.optional(v.unknown(), {}),
              }),
            ),
            [],
          ),
        }),
        {},
      ),
    }),
    {},
  ),
});

export function checkCommand(
  args: readonly string[],
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    (args.length === 0 ? err : out)(USAGE);
    return args.length === 0 ? 2 : 0;
  }
  let invalid = 0;
  let checked = 0;
  for (const file of args) {
    let docs: unknown[];
    try {
      docs = [Bun.YAML.parse(readFileSync(file, 'utf8'))].flat();
    } catch (e) {
      err(`${file}: cannot read it as YAML: ${(e as Error).message}`);
      return 2;
    }
    for (const doc of docs) {
      for (const line of checkCanary(doc)) {
        checked++;
        if (!line.ok) invalid++;
        (line.ok ? out : err)(`${file}: ${line.text}`);
      }
    }
  }
  out(`${checked} k6gate webhook(s) checked, ${invalid} invalid`);
  return invalid > 0 ? 1 : 0;
}

// One line per k6gate webhook of a Canary document (other documents give none).
function checkCanary(doc: unknown): { ok: boolean; text: string }[] {
  const parsed = v.safeParse(CanarySchema, doc);
  if (!parsed.success) {
    const isCanary = (doc as { kind?: unknown } | null)?.kind === 'Canary';
    const at = parsed.issues[0] && v.getDotPath(parsed.issues[0]);
    return isCanary
      ? [{ ok: false, text: `a Canary k6gate cannot read: ${at ?? 'its shape'}` }]
      : [];
  }
  const { name, namespace } = parsed.output.metadata;
  return parsed.output.spec.analysis.webhooks
    .filter((h) => /\/launch-test\/?(\?.*)?$/.test(h.url))
    .map((h) => {
      const where = `Canary ${namespace}/${name} webhook ${h.name}`;
      try {
        const req = parseLaunchPayload({
          name,
          namespace,
          phase: h.type,
          checksum: '',
          metadata: h.metadata,
        });
        const extra = req.compare ? `, compared with the ${req.compare.baseline} baseline` : '';
        return { ok: true, text: `${where}: ok (${req.runner ?? 'default'} runner${extra})` };
      } catch (e) {
        const what = e instanceof FieldError ? `${e.field}: ${e.message}` : (e as Error).message;
        return { ok: false, text: `${where}: ${what}` };
      }
    });
}
