// The daemon (`k6gate serve`): the engine with the HTTP app on top — readiness, the daemon's
// own metrics (slots, runs, failure cache, process), the caller and tenant policy and the auth
// file's clients. main.ts's serve command listens on it; tests drive `app.handle` or listen on port 0.

import { accessSync, constants } from 'node:fs';
import type { ClientDirectory } from '../auth/clients.ts';
import { registerProcessMetrics } from '../core/process-metrics.ts';
import { createApp } from '../http/app.ts';
import { createLaunchPolicy } from '../launch/policy.ts';
import { buildEngine, type EngineParts } from './engine.ts';
import { daemonPolicy } from './policy.ts';

export interface DaemonParts extends EngineParts {
  clients?: ClientDirectory;
}

export function buildDaemon(parts: DaemonParts) {
  const { config } = parts;
  const policy = createLaunchPolicy(daemonPolicy(config, parts.kube !== undefined, parts.logger));
  const engine = buildEngine(parts);
  registerProcessMetrics(engine.metrics);
  if (parts.clients) {
    const clients = parts.clients;
    engine.metrics.collectedGauge(
      'k6gate_auth_file_usable',
      '1 while the auth file (or its last good version, within its grace) authenticates callers; 0 once every call is refused',
      () => (clients.problem() ? 0 : 1),
    );
  }
  const readiness = {
    problems() {
      const problems: string[] = [];
      if (engine.registry.draining) problems.push('shutting down');
      const auth = parts.clients?.problem();
      if (auth) problems.push(auth);
      if (!parts.runner && !Bun.which(config.k6Binary, { PATH: parts.daemonEnv.PATH ?? '' })) {
        problems.push(`k6 binary "${config.k6Binary}" not found`);
      }
      try {
        accessSync(config.tempDir, constants.W_OK);
      } catch {
        problems.push(`temp dir ${config.tempDir} is not writable`);
      }
      return problems;
    },
  };
  const app = createApp({
    logger: parts.logger,
    readiness,
    metrics: engine.metrics,
    service: engine.launch,
    policy,
    clients: parts.clients,
    maxBodyBytes: config.maxBodyBytes,
    requestsTotal: engine.metrics.counter('launch_requests_total', '/launch-test answers by code'),
    gates: engine.gates,
    events: engine.events,
    allowedNamespaces: config.allowedNamespaces,
    ...engine.history,
  });
  return { ...engine, app, readiness };
}
