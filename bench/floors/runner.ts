// The floor of a Bun gate that runs k6 the way k6gate isolates it (bench/cpu.ts): POST a Flagger
// payload, its script into a private directory (HOME and TMPDIR too), `k6 run --summary-export`
// spawned with its output read through a pipe, the export read back, the directory removed, 200
// with the output. No validation, limits, records, timers, cgroups or logs: what any Bun daemon
// doing this pays per run. Compiled with k6gate's flags; started as `<binary> serve … --listen-port N`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const port = Number(process.argv[process.argv.indexOf('--listen-port') + 1]);
const tempDir = process.env.TEMP_DIR ?? '/tmp';

async function run(script: string): Promise<string> {
  const dir = mkdtempSync(join(tempDir, 'floor-run-'));
  try {
    writeFileSync(join(dir, 'test.js'), script, { mode: 0o600 });
    const summary = join(dir, 'summary.json');
    const k6 = Bun.spawn(['k6', 'run', '--summary-export', summary, join(dir, 'test.js')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, TMPDIR: dir },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [stdout, stderr] = await Promise.all([
      new Response(k6.stdout).text(),
      new Response(k6.stderr).text(),
      k6.exited,
    ]);
    JSON.parse(readFileSync(summary, 'utf8'));
    return stdout + stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

Bun.serve({
  hostname: '127.0.0.1',
  port,
  async fetch(req) {
    if (req.method !== 'POST') return new Response('ok');
    const body = (await req.json()) as { metadata: { script: string } };
    return new Response(await run(body.metadata.script));
  },
});
Bun.unsafe.setJITPolicy(1); // as k6gate serve does once it listens
