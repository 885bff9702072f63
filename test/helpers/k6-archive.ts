// Builds a k6 archive (the layout `k6 archive` writes: metadata.json, `data` = the entry's
// source, modules and data files under scripts/file/<path> and files/file/<path>) with the
// system's tar, for tests that run archives through the k6 double or k6.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** `files` by absolute path; `.js` files other than the entry are modules, the rest data. */
export function k6Archive(entry: string, files: Record<string, string>): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-archive-'));
  try {
    const put = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    put(
      'metadata.json',
      JSON.stringify({
        type: 'js',
        filename: `file://${entry}`,
        pwd: `file://${dirname(entry)}/`,
        options: {},
      }),
    );
    put('data', files[entry] ?? '');
    for (const [path, text] of Object.entries(files)) {
      if (path === entry) continue;
      put(`${path.endsWith('.js') ? 'scripts' : 'files'}/file${path}`, text);
    }
    const tar = Bun.spawnSync(
      [
        'tar',
        '--format=ustar',
        '-C',
        dir,
        '-cf',
        'archive.tar',
        'metadata.json',
        'data',
        ...['scripts', 'files'].filter((d) => existsSync(join(dir, d))),
      ],
      { cwd: dir },
    );
    if (tar.exitCode !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
    return readFileSync(join(dir, 'archive.tar'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
