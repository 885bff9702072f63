// GET /metrics: the Prometheus text exposition of the daemon's registry.

import type { MetricsRegistry } from '../core/metrics.ts';
import type { Routes } from './request-context.ts';

export function metricsRoutes(registry: MetricsRegistry): Routes {
  return (app) =>
    app.get(
      '/metrics',
      () =>
        new Response(registry.render(), {
          headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' },
        }),
    );
}
