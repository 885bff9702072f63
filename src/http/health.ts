// Health routes: /health (the original's contract: always "Good to go!"), /healthz (alive),
// /readyz (ready for new runs: not draining, k6 found, temp dir writable).

import type { Routes } from './request-context.ts';

export interface Readiness {
  /** Reasons the daemon should not get new runs; empty when ready. */
  problems(): string[];
}

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };

const CONSTANT = { '/health': 'Good to go!', '/healthz': 'ok\n' } as const;
const answer = (path: keyof typeof CONSTANT) => new Response(CONSTANT[path], { headers: TEXT });

/** The constant answers as Bun routes, served without Elysia on their path (http/app.ts):
 * probes come every few seconds, and the first 200 comes sooner after start. */
export function staticRoutes() {
  return { '/health': { GET: answer('/health') }, '/healthz': { GET: answer('/healthz') } };
}

export function healthRoutes(readiness: Readiness): Routes {
  return (app) =>
    app
      // The same answers for app.handle and the paths Bun does not route ('/health/'): plain
      // handlers, built on first use (an Elysia static answer costs ~1 ms of start to prepare).
      .get('/health', () => answer('/health'))
      .get('/healthz', () => answer('/healthz'))
      .get('/readyz', () => {
        const problems = readiness.problems();
        if (problems.length === 0) return new Response('ready\n', { headers: TEXT });
        return new Response(`not ready: ${problems.join('; ')}\n`, {
          status: 503,
          headers: { ...TEXT, 'Retry-After': '5' },
        });
      });
}
