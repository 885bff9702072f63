// The files a local script reaches by relative path: `import … from './lib.js'` and
// `open('./data.json')` beside it, and what those modules reach in turn. `k6gate run test.js`
// sends them with the script as one bundle (as a ConfigMap script's keys), so the run sees the
// directory as `k6 run test.js` would. A reference into a subdirectory or above cannot be laid
// out flat: the error says to make a k6 archive instead.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../core/errors.ts';

/** Quoted relative paths: './name', "../x", `./dir/y`. */
const RELATIVE = /(['"`])(\.\.?\/[^'"`\s]+)\1/g;
const MODULE = /\.(m?js|cjs|ts)$/;

/** The files beside `entry` its text reaches (and theirs), by file name; empty when none. */
export function filesBeside(entry: string, text: string): Record<string, Uint8Array> {
  const dir = dirname(entry);
  const found: Record<string, Uint8Array> = {};
  const queue = [text];
  for (let source = queue.pop(); source !== undefined; source = queue.pop()) {
    for (const [, , ref] of source.matchAll(RELATIVE)) {
      const path = join(dir, ref!);
      if (!existsSync(path) || !statSync(path).isFile()) continue; // a string, not a file
      const name = basename(path);
      if (!ref!.startsWith('./') || ref!.slice(2) !== name) {
        throw new UsageError(
          `${entry} uses ${ref}, outside its own directory: make a k6 archive (k6 archive ${basename(entry)}) and run k6gate run archive.tar`,
        );
      }
      if (name === basename(entry) || found[name]) continue;
      found[name] = new Uint8Array(readFileSync(path));
      if (MODULE.test(name)) queue.push(new TextDecoder().decode(found[name]));
    }
  }
  return found;
}
