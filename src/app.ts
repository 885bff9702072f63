// createApp: the Elysia app built from its feature plugins, with no listen. Tests drive it with
// app.handle(new Request(…)); main.ts listens.

import { Elysia } from 'elysia';
import { healthPlugin, type Readiness } from './http/health.ts';
import { launchPlugin } from './http/launch.ts';
import { metricsPlugin } from './http/metrics.ts';
import { requestContextPlugin } from './http/request-context.ts';
import type { LaunchService } from './launch/service.ts';
import type { Logger } from './log.ts';
import type { Counter, MetricsRegistry } from './metrics.ts';

export interface AppDeps {
  logger: Logger;
  launch: LaunchService;
  readiness: Readiness;
  metrics: MetricsRegistry;
  requestsTotal: Counter;
  maxBodyBytes: number;
}

export function createApp(deps: AppDeps) {
  return new Elysia({ name: 'k6gate' })
    .use(requestContextPlugin(deps.logger))
    .use(healthPlugin(deps.readiness))
    .use(metricsPlugin(deps.metrics))
    .use(
      launchPlugin({
        service: deps.launch,
        maxBodyBytes: deps.maxBodyBytes,
        logger: deps.logger,
        requestsTotal: deps.requestsTotal,
      }),
    );
}

export type App = ReturnType<typeof createApp>;
