// createApp: the Elysia app built from its feature plugins, with no listen. Tests drive it with
// app.handle(new Request(…)); main.ts listens.

import { Elysia } from 'elysia';
import type { Logger } from '../core/log.ts';
import type { MetricsRegistry } from '../core/metrics.ts';
import type { Gates } from '../launch/gates.ts';
import type { CanaryHistory } from '../launch/canary-history.ts';
import { eventsHandler } from './events.ts';
import { healthPlugin, type Readiness } from './health.ts';
import { gatesPlugin } from './gates.ts';
import { pageHandler } from './page.ts';
import { runsHandler, type RunRouteOptions } from './runs.ts';
import { launchPlugin, type LaunchRouteOptions } from './launch.ts';
import { metricsPlugin } from './metrics.ts';
import { requestContextPlugin } from './request-context.ts';

export interface AppDeps extends LaunchRouteOptions, Omit<RunRouteOptions, 'history'> {
  gates: Gates;
  history: CanaryHistory;
  allowedNamespaces: readonly string[];
  logger: Logger;
  readiness: Readiness;
  metrics: MetricsRegistry;
}

export function createApp(deps: AppDeps) {
  return (
    new Elysia({ name: 'k6gate' })
      .use(requestContextPlugin(deps.logger))
      .use(healthPlugin(deps.readiness))
      .use(metricsPlugin(deps.metrics))
      .use(launchPlugin(deps))
      .use(gatesPlugin(deps))
      // The history routes on the app itself, not a plugin instance each: measured with
      // bench/start.ts, those three instances cost ~5 ms of start (32.0 → 27.1 ms); doing the
      // same to the plugins above gained nothing (27.6 vs 28.1 ms), so they keep their rooms.
      .post('/events', eventsHandler(deps), { parse: 'none' })
      .get('/api/v1/*', runsHandler(deps))
      .get('/', pageHandler(deps))
  );
}

/** Bun server options for the daemon: waited runs lift the idle cut per request
 * (server.timeout(request, 0)); one byte over the body limit lets the route answer 413. */
export function listenOptions(s: { host: string; listenPort: number; maxBodyBytes: number }) {
  return {
    hostname: s.host,
    port: s.listenPort,
    idleTimeout: 30,
    maxRequestBodySize: s.maxBodyBytes + 1,
  };
}
