// The bytecode-order profiles `make build` lays the binary out by (build/*.order, recorded by
// `make bytecode-order`): how much of what a binary ran — a profile it wrote itself with
// BUN_BYTECODE_ORDER_OUT — the committed one covers. A profile is a version line, then one
// hashed function per line.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './daemon.ts';

const entries = (file: string) => readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean);

/** Of the functions `recorded` lists, how many the committed `build/<profile>` holds. */
export function orderCoverage(recorded: string, profile = 'serve.order') {
  const kept = new Set(entries(join(REPO, 'build', profile)));
  const used = entries(recorded);
  return { used: used.length, covered: used.filter((entry) => kept.has(entry)).length };
}
