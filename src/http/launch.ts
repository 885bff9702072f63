// POST /launch-test: authenticate, decode and validate the Flagger payload (before any slot is
// taken), apply the caller policy, hand it to the launch service, and answer 200/202 with k6's
// output (or the verdict as JSON). A refusal (a k6gate error, thrown, or admission's answered
// no) is rendered by the one error renderer inside the route, logged, and recorded on the
// Canary when Flagger would hide it;
// every answer is counted before it leaves (a scrape right after sees it). Rendering here rather
// than rethrowing to Elysia's onError skips its error path, which copies the answer into a new
// Response with merged headers: measured in bench/README.md (429s come in floods).

import type { ClientDirectory } from '../auth/clients.ts';
import {
  Busy,
  ClientGone,
  FieldError,
  K6gateError,
  MethodNotAllowed,
  Misconfigured,
  NotEnabled,
  ShuttingDown,
} from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Counter } from '../core/metrics.ts';
import { parseLaunchPayload } from '../flagger/payload.ts';
import type { LaunchPolicy } from '../launch/policy.ts';
import type { LaunchService } from '../launch/service.ts';
import type { CanaryEvents } from '../kube/canary-events.ts';
import { authenticate } from './auth.ts';
import { readJsonBody } from './read-body.ts';
import { PLAIN_TEXT, renderError, wantsJson } from './render-error.ts';
import type { Routes } from './request-context.ts';

export interface LaunchRouteOptions {
  service: LaunchService;
  /** Where refusals Flagger cannot show (5xx, 429) are recorded, on the Canary. */
  events: CanaryEvents;
  policy: LaunchPolicy;
  clients: ClientDirectory | undefined;
  maxBodyBytes: number;
  logger: Logger;
  requestsTotal: Counter;
}

export function launchRoutes(opts: LaunchRouteOptions): Routes {
  const refused = createRefusalEvents(opts.events);
  return (app) =>
    app
      .post(
        '/launch-test',
        async ({ request, server, requestId, log }) => {
          const launch: LaunchState = { logger: log, started: performance.now() };
          const refuse = (err: K6gateError) => {
            logRefusal(launch.logger, err);
            if (launch.canary) refused(launch.canary, err);
            return renderError(err, { requestId, wantsJson: wantsJson(request), logger: log });
          };
          let res: Response;
          try {
            const answered = await answerLaunch(opts, request, server, requestId, launch);
            res = answered instanceof Response ? answered : refuse(answered);
          } catch (err) {
            if (!(err instanceof K6gateError)) {
              done(opts, launch, 500);
              throw err; // the global renderer logs it and answers an opaque 500
            }
            res = refuse(err);
          }
          done(opts, launch, res.status);
          return res;
        },
        { parse: 'none' },
      )
      .all('/launch-test', () => {
        throw new MethodNotAllowed(['POST']);
      });
}

type LaunchState = {
  logger: Logger;
  started: number;
  /** Set once the payload is read. */
  canary?: { namespace: string; name: string };
};

// The route itself: authenticate, decode, policy, launch, answer (or admission's refusal).
async function answerLaunch(
  opts: LaunchRouteOptions,
  request: Request,
  server: Bun.Server<unknown> | null,
  requestId: string,
  launch: LaunchState,
): Promise<Response | K6gateError> {
  const client = opts.clients && authenticate(request, opts.clients);
  const req = parseLaunchPayload(await readJsonBody(request, opts.maxBodyBytes));
  const logger = launch.logger.child({
    canary: `${req.namespace}/${req.name}`,
    phase: req.phase,
    client: client?.name,
  });
  launch.logger = logger;
  launch.canary = { namespace: req.namespace, name: req.name };
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
  if ('refused' in outcome) return outcome.refused;
  const headers = { 'X-Request-Id': requestId, 'X-K6gate-Run-Id': outcome.runId };
  if (outcome.report && wantsJson(request)) return Response.json(outcome.report, { headers });
  return new Response(outcome.body, {
    status: outcome.status ?? 200,
    headers: { ...PLAIN_TEXT, ...headers },
  });
}

/** 429s recorded at most once a minute per canary (they come in floods). */
const BUSY_EVENT_EVERY_MS = 60_000;

// Refusals Flagger's client retries and then hides (5xx, 429) as Events on the Canary, so its
// owner reads why; a draining k6gate is not news (the retry reaches another replica).
function createRefusalEvents(events: CanaryEvents) {
  const lastBusy = new Map<string, number>();
  return (canary: { namespace: string; name: string }, err: K6gateError) => {
    if ((err.status < 500 && err.status !== 429) || err instanceof ShuttingDown) return;
    if (err.status === 429) {
      const key = `${canary.namespace}/${canary.name}`;
      const now = Date.now();
      if (now - (lastBusy.get(key) ?? 0) < BUSY_EVENT_EVERY_MS) return;
      if (lastBusy.size >= 10_000) lastBusy.clear();
      lastBusy.set(key, now);
    }
    void events.record({
      ...canary,
      type: 'Warning',
      reason: 'LoadTestRefused',
      message: `k6gate answered ${err.status}: ${err.message}`,
    });
  };
}

function done(opts: LaunchRouteOptions, launch: LaunchState, status: number) {
  opts.requestsTotal.inc({ code: String(status) });
  if (!launch.logger.enabled('debug')) return;
  launch.logger.debug('launch request done', {
    status,
    durationMs: Math.round(performance.now() - launch.started),
  });
}

// 429s come in floods and nobody reads a gone client's answer; k6gate's own misconfiguration
// is the daemon's error, not a refused test; a feature this k6gate does not enable is the
// operator's to know about (a warning).
function logRefusal(logger: Logger, err: K6gateError) {
  const level =
    err instanceof Busy || err instanceof ClientGone
      ? 'debug'
      : err instanceof Misconfigured
        ? 'error'
        : err instanceof NotEnabled
          ? 'warn'
          : 'info';
  if (!logger.enabled(level)) return;
  logger[level]('launch request refused', {
    status: err.status,
    code: err.code,
    field: err instanceof FieldError ? err.field : undefined,
    error: err.message,
  });
}
