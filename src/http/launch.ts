// POST /launch-test: decode and validate the Flagger payload (before any slot is taken), hand
// it to the launch service, and answer 200 with k6's output or the service's error.

import { Elysia } from 'elysia';
import { BadRequest, Busy, K6gateError, MethodNotAllowed, PayloadTooLarge } from '../errors.ts';
import { parseLaunchPayload } from '../flagger/payload.ts';
import type { LaunchService } from '../launch/service.ts';
import type { Logger } from '../log.ts';
import type { Counter } from '../metrics.ts';
import { PLAIN_TEXT } from './render-error.ts';
import { idFor } from './request-context.ts';

export interface LaunchRouteOptions {
  service: LaunchService;
  maxBodyBytes: number;
  logger: Logger;
  requestsTotal: Counter;
}

/** Reads at most `limit` bytes of body and decodes it as JSON; 413 past the limit. */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    throw new PayloadTooLarge(`request body larger than ${limit} bytes`);
  }
  // With a declared length within the limit, one read; otherwise count while streaming.
  const text = declared !== null ? await request.text() : await readLimited(request, limit);
  if (text.trim() === '') {
    throw new BadRequest('body', 'empty body: expected a Flagger webhook payload');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('body', 'the body is not valid JSON');
  }
}

async function readLimited(request: Request, limit: number): Promise<string> {
  const reader = request.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new PayloadTooLarge(`request body larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
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
          const req = parseLaunchPayload(await readJsonBody(request, opts.maxBodyBytes));
          logger = logger.child({ canary: `${req.namespace}/${req.name}`, phase: req.phase });
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
          status = 200;
          return new Response(outcome.body, {
            headers: { ...PLAIN_TEXT, 'X-Request-Id': requestId, 'X-K6gate-Run-Id': outcome.runId },
          });
        } catch (err) {
          status = err instanceof K6gateError ? err.status : 500;
          if (err instanceof K6gateError) {
            // 429s come in floods when saturated: the metrics count them, debug logs them.
            const log = err instanceof Busy ? logger.debug : logger.info;
            log('launch request refused', {
              status,
              code: err.code,
              field: err instanceof BadRequest ? err.field : undefined,
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
