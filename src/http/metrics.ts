// GET /metrics: the Prometheus text exposition of the daemon's registry.

import { Elysia } from 'elysia';
import type { MetricsRegistry } from '../core/metrics.ts';

export function metricsPlugin(registry: MetricsRegistry) {
  return new Elysia({ name: 'k6gate.metrics' }).get(
    '/metrics',
    () =>
      new Response(registry.render(), {
        headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' },
      }),
  );
}
