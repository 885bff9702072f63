// POST /launch-test: decode and validate the Flagger payload (before any slot is taken), hand
// it to the launch service, and answer 200 with k6's output or the service's error.

import { Elysia } from 'elysia';
import type { ClientDirectory } from '../auth/clients.ts';
import {
  Busy,
  ClientGone,
  FieldError,
  K6gateError,
  MethodNotAllowed,
  Misconfigured,
} from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Counter } from '../core/metrics.ts';
import { parseLaunchPayload } from '../flagger/payload.ts';
import type { LaunchPolicy } from '../launch/policy.ts';
import type { LaunchService } from '../launch/service.ts';
import { authenticate } from './auth.ts';
import { readJsonBody } from './read-body.ts';
import { PLAIN_TEXT, wantsJson } from './render-error.ts';
import { idFor } from './request-context.ts';

export interface LaunchRouteOptions {
  service: LaunchService;
  policy: LaunchPolicy;
  clients: ClientDirectory | undefined;
  maxBodyBytes: number;
  logger: Logger;
  requestsTotal: Counter;
}

export function launchPlugin(opts: LaunchRouteOptions) {
  return new Elysia({ name: 'k6gate.launch' })
    .post(
      '/launch-test',
      async ({ request, server }) => {
        const started = performance.now();
        const requestId = idFor(request);
        let logger = opts.logger.child({ requestId });
        let status = 500;
        try {
          const client = opts.clients && authenticate(request, opts.clients);
          const req = parseLaunchPayload(await readJsonBody(request, opts.maxBodyBytes));
          logger = logger.child({
            canary: `${req.namespace}/${req.name}`,
            phase: req.phase,
            client: client?.name,
          });
          opts.policy(req, client);
          if (req.unknownMetadataKeys.length > 0) {
            logger.debug('ignoring unknown metadata keys', { keys: req.unknownMetadataKeys });
          }
          // The answer may take minutes (a waited run, or a slow k6 start up to --start-timeout):
          // lift Bun's idle cut for this request.
          server?.timeout(request, 0);
          const outcome = await opts.service.launch(req, {
            requestId,
            signal: request.signal,
            logger,
          });
          status = outcome.status ?? 200;
          const ids = { 'X-Request-Id': requestId, 'X-K6gate-Run-Id': outcome.runId };
          if (outcome.report && wantsJson(request)) {
            return Response.json(outcome.report, { headers: ids });
          }
          return new Response(outcome.body, {
            status,
            headers: { ...PLAIN_TEXT, 'X-Request-Id': requestId, 'X-K6gate-Run-Id': outcome.runId },
          });
        } catch (err) {
          status = err instanceof K6gateError ? err.status : 500;
          if (err instanceof K6gateError) {
            // 429s come in floods and nobody reads a gone client's answer; k6gate's own
            // misconfiguration is the daemon's error, not a refused test.
            const level =
              err instanceof Busy || err instanceof ClientGone
                ? 'debug'
                : err instanceof Misconfigured
                  ? 'error'
                  : 'info';
            logger[level]('launch request refused', {
              status,
              code: err.code,
              field: err instanceof FieldError ? err.field : undefined,
              error: err.message,
            });
          }
          throw err;
        } finally {
          opts.requestsTotal.inc({ code: String(status) });
          logger.debug('launch request done', {
            status,
            durationMs: Math.round(performance.now() - started),
          });
        }
      },
      { parse: 'none' },
    )
    .all('/launch-test', () => {
      throw new MethodNotAllowed(['POST']);
    });
}
