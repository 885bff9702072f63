// Health routes: /health (the original's contract: always "Good to go!"), /healthz (alive),
// /readyz (ready for new runs: not draining, k6 found, temp dir writable).

import { Elysia } from 'elysia';

export interface Readiness {
  /** Reasons the daemon should not get new runs; empty when ready. */
  problems(): string[];
}

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };

export function healthPlugin(readiness: Readiness) {
  return (
    new Elysia({ name: 'k6gate.health' })
      // Constant answers: static routes, served by Bun's router without a handler to compile or
      // run (probes come every few seconds; the first 200 comes sooner after start).
      .get('/health', new Response('Good to go!', { headers: TEXT }))
      .get('/healthz', new Response('ok\n', { headers: TEXT }))
      .get('/readyz', () => {
        const problems = readiness.problems();
        if (problems.length === 0) return new Response('ready\n', { headers: TEXT });
        return new Response(`not ready: ${problems.join('; ')}\n`, {
          status: 503,
          headers: { ...TEXT, 'Retry-After': '5' },
        });
      })
  );
}
