// createApp: the Elysia app built from its feature plugins, with no listen; tests drive it with
// app.handle(new Request(…)). serveApp serves it on Bun (cli/listener.ts, the tests' daemons).

import { Elysia } from 'elysia';
import { createBunRouteHandler } from 'elysia/adapter/bun/compose';
import type { Logger } from '../core/log.ts';
import type { MetricsRegistry } from '../core/metrics.ts';
import type { Gates } from '../launch/gates.ts';
import type { CanaryHistory } from '../launch/canary-history.ts';
import { eventsHandler } from './events.ts';
import { healthRoutes, staticRoutes, type Readiness } from './health.ts';
import { gatesRoutes } from './gates.ts';
import { pageHandler } from './page.ts';
import { runsHandler, type RunRouteOptions } from './runs.ts';
import { launchRoutes, type LaunchRouteOptions } from './launch.ts';
import { metricsRoutes } from './metrics.ts';
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
  const app = new Elysia({ name: 'k6gate' }).use(requestContextPlugin(deps.logger));
  // Each feature adds its routes to this one instance: an Elysia instance per feature, merged
  // with .use, cost 0.6 ms of a 1.5 ms build (bench/README.md, "Session 15").
  const features = [
    healthRoutes(deps.readiness),
    metricsRoutes(deps.metrics),
    launchRoutes(deps),
    gatesRoutes(deps),
  ];
  for (const addRoutes of features) addRoutes(app);
  return app
    .post('/events', eventsHandler(deps), { parse: 'none' })
    .get('/api/v1/*', runsHandler(deps))
    .get('/', pageHandler(deps));
}

type App = ReturnType<typeof createApp>;

/** Serves the app on a new Bun server and makes it the app's server (handlers read it from
 * there). What Elysia's listen does, without what it adds after: its listen builds the request
 * handler twice, reloads the server it just opened and asks for a GC before the first request
 * is answered (bench/README.md, "Session 11"). */
export function serveApp(
  app: App,
  options: ReturnType<typeof listenOptions> & { reusePort?: boolean; tls?: Bun.TLSOptions },
) {
  const server = Bun.serve({
    // A port another process holds is an error (Bun's production mode would share it, splitting
    // the traffic and the runs between two daemons); only a TLS renewal opens a second socket.
    reusePort: false,
    ...options,
    development: false,
    routes: { ...bunRoutes(app), ...staticRoutes() },
    // Whatever Bun does not route (a trailing slash, another method, a wildcard): Elysia's
    // router, its handler built on the first such request.
    fetch: (request) => app.fetch(withRoutableUrl(request)),
  });
  app.server = server;
  return server;
}

// Elysia's router looks for the path from the URL's 11th character on, which misses it behind a
// host of under four characters (a Service named `k6`: http://k6/api/v1/runs answered 404). Such
// a request is handed on under another host; k6gate's handlers read only the path and query.
function withRoutableUrl(request: Request): Request {
  const url = request.url;
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1 || start >= 11) return request;
  return new Request(`http://localhost${url.slice(start)}`, request);
}

const BUN_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH', 'POST', 'PUT']);

// Each route Bun can route itself (one method, no wildcard) gets the handler Elysia composes for
// it, composed on its first request, as Elysia's own listen maps them.
function bunRoutes(app: App) {
  const routes: Record<string, Record<string, (request: Request) => unknown>> = {};
  for (const route of app.routes) {
    if (typeof route.handler !== 'function' || !BUN_METHODS.has(route.method)) continue;
    if (route.path.endsWith('*')) continue;
    let composed: ((request: Request) => unknown) | undefined;
    const handler = (request: Request) =>
      (composed ??= createBunRouteHandler(app, route) as (request: Request) => unknown)(request);
    (routes[encodeURI(route.path)] ??= {})[route.method] = handler;
  }
  return routes;
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
