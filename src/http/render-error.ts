// Renders any thrown error as an HTTP answer. k6gate's errors keep the original's plain-text
// shape (`message\n`, then k6's output); `Accept: application/json` gets a JSON object instead.
// Unknown errors become an opaque 500 that only names the request id. Bodies are never echoed.

import {
  BadRequest,
  FieldError,
  Forbidden,
  K6gateError,
  NotFound,
  PayloadTooLarge,
  RecentFailure,
  TestFailed,
} from '../core/errors.ts';
import type { Logger } from '../core/log.ts';

const TEXT_HEADERS = {
  'Content-Type': 'text/plain; charset=utf-8',
  'X-Content-Type-Options': 'nosniff',
};

/** The first line of an error answer, in the original's words where it had some. */
function describeError(err: K6gateError): string {
  if (err instanceof BadRequest)
    return `error while validating request: ${err.field}: ${err.message}`;
  if (err instanceof Forbidden)
    return `error while authorizing request: ${err.field}: ${err.message}`;
  if (err instanceof RecentFailure) {
    return `${err.message} (min_failure_delay: the same canary and phase failed; retry in ${err.retryInSeconds}s)`;
  }
  return err.message;
}

export function renderError(
  err: unknown,
  opts: { requestId: string; wantsJson: boolean; logger: Logger },
): Response {
  const known = toKnownError(err);
  if (!known) {
    opts.logger.error('internal error', { err, requestId: opts.requestId });
    return respond(500, `internal error (request id ${opts.requestId})\n`, {}, opts, {
      code: 'internal',
      message: 'internal error',
    });
  }
  // A run's verdict asked for as JSON: the same object a passed run gets, with the 400.
  if (opts.wantsJson && known instanceof TestFailed && known.details) {
    return Response.json(
      { ...known.details, message: describeError(known) },
      { status: 400, headers: { ...known.headers(), 'X-Request-Id': opts.requestId } },
    );
  }
  const output = known instanceof TestFailed ? known.output : '';
  const line = describeError(known);
  const text = output === '' ? `${line}\n` : `${line}\n${output}\n`;
  return respond(known.status, text, known.headers(), opts, {
    code: known.code,
    message: line,
    ...(known instanceof FieldError ? { field: known.field } : {}),
    ...(output === '' ? {} : { output }),
  });
}

function respond(
  status: number,
  text: string,
  headers: Record<string, string>,
  opts: { requestId: string; wantsJson: boolean },
  json: Record<string, unknown>,
): Response {
  if (opts.wantsJson) {
    const common = { ...headers, 'X-Request-Id': opts.requestId };
    return Response.json({ error: json, requestId: opts.requestId }, { status, headers: common });
  }
  return new Response(text, {
    status,
    headers: { ...TEXT_HEADERS, ...headers, 'X-Request-Id': opts.requestId },
  });
}

// Elysia's own errors (unknown route, unparsable body) mapped onto k6gate's classes.
function toKnownError(err: unknown): K6gateError | undefined {
  if (err instanceof K6gateError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'NOT_FOUND') return new NotFound('404 page not found');
  if (code === 'PARSE') return new BadRequest('body', 'the body is not valid JSON');
  if (code === 'VALIDATION') return new BadRequest('body', 'the body does not match the schema');
  if ((err as { status?: unknown } | null)?.status === 413) {
    return new PayloadTooLarge('request body too large');
  }
  return undefined;
}

export function wantsJson(request: Request): boolean {
  return (request.headers.get('accept') ?? '').includes('application/json');
}

export const PLAIN_TEXT = TEXT_HEADERS;
