// Error classes the daemon answers with: each has an HTTP status and a stable code.
// One onError (src/http/request-context.ts → render-error.ts) renders them; services throw them
// and never import Elysia.

/** A flag, setting or argument k6gate cannot use: the command exits 2 with this message, which
 * names what was given (never a secret's value). Not an HTTP error. */
export class UsageError extends Error {}

export abstract class K6gateError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Extra response headers (Retry-After …). */
  headers(): Record<string, string> {
    return {};
  }
}

/** An error about one field of the request; `field` names its JSON path (`metadata.env_vars`). */
export abstract class FieldError extends K6gateError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request is malformed. */
export class BadRequest extends FieldError {
  readonly status = 400;
  readonly code = 'bad_request';
}

export class PayloadTooLarge extends K6gateError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}

export class NotFound extends K6gateError {
  readonly status = 404;
  readonly code = 'not_found';
}

export class MethodNotAllowed extends K6gateError {
  readonly status = 405;
  readonly code = 'method_not_allowed';
  constructor(readonly allow: string[]) {
    super(`method not allowed; allowed: ${allow.join(', ')}`);
  }
  override headers() {
    return { Allow: this.allow.join(', ') };
  }
}

/** Every concurrency slot is taken: Flagger retries 429 and honours Retry-After. Made without
 * a stack: 429s come in floods, nobody reads their stack, and capturing it was a fifth of the
 * service's cost per refusal (bench/README.md, "429s"). */
export class Busy extends K6gateError {
  readonly status = 429;
  readonly code = 'busy';
  constructor(readonly retryAfterSeconds: number) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('Maximum concurrent test runs reached');
    Error.stackTraceLimit = limit;
  }
  override headers() {
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }
}

/** The same canary failed less than min_failure_delay ago. */
export class RecentFailure extends K6gateError {
  readonly status = 400;
  readonly code = 'recent_failure';
  constructor(readonly retryInSeconds: number) {
    super('not enough time since last failure');
  }
}

/** The test ran (or tried to) and did not pass; the message is the reason, the body adds output. */
export class TestFailed extends K6gateError {
  readonly status = 400;
  readonly code = 'test_failed';
  constructor(
    message: string,
    readonly output = '',
    /** The verdict as an object, for `Accept: application/json` (waited runs). */
    readonly details?: object,
  ) {
    super(message);
  }
  /** The run's id, as a passed run's answer carries it, whenever the run had one. */
  override headers(): Record<string, string> {
    const runId = (this.details as { runId?: unknown } | undefined)?.runId;
    return typeof runId === 'string' ? { 'X-K6gate-Run-Id': runId } : {};
  }
}

/** A dependency (Kubernetes API, …) is unreachable: retryable, 503 with Retry-After. */
export class Upstream extends K6gateError {
  readonly status = 503;
  readonly code = 'upstream_unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
  ) {
    super(message);
  }
  override headers() {
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }
}

/** The daemon is draining for shutdown. */
export class ShuttingDown extends K6gateError {
  readonly status = 503;
  readonly code = 'shutting_down';
  constructor() {
    super('k6gate is shutting down');
  }
  override headers() {
    return { 'Retry-After': '5' };
  }
}

/** No or wrong credentials: 401 with a Basic challenge (Flagger sends URL userinfo as Basic). */
export class Unauthorized extends K6gateError {
  readonly status = 401;
  readonly code = 'unauthorized';
  constructor() {
    super(
      'authentication required: put the client name and token in the webhook URL (http://name:token@host/launch-test) or send Authorization: Bearer <token>',
    );
  }
  override headers() {
    return { 'WWW-Authenticate': 'Basic realm="k6gate", charset="UTF-8"' };
  }
}

/** Authenticated, but not allowed to do this (another namespace, say). */
export class Forbidden extends FieldError {
  readonly status = 403;
  readonly code = 'forbidden';
}

/** The body is not JSON. */
/** A gate Flagger asked is closed (not yet promoted, no rollback, halted): 403, which Flagger
 * does not retry and shows with this reason. */
export class GateClosed extends K6gateError {
  readonly status = 403;
  readonly code = 'gate_closed';
}

export class UnsupportedMediaType extends K6gateError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}

/** The caller closed the connection before its request was read: nobody reads the answer. */
export class ClientGone extends K6gateError {
  readonly status = 499;
  readonly code = 'client_gone';
}

/** What the request asks is not enabled or not permitted on this k6gate (a pod runner or
 * kubernetes_secrets without a Kubernetes client, RBAC that does not let k6gate read or create
 * in the canary's namespace): the canary's owner must read why, so a 400 that Flagger shows in
 * its events (a 503 it would retry, then hide behind "giving up after N attempt(s)"), naming
 * the setting that enables it. Not a failed test: the failure cache does not count it. */
export class NotEnabled extends K6gateError {
  readonly status = 400;
  readonly code = 'not_enabled';
}

/** k6gate itself is set up wrong (k6 missing, say): not the canary's fault, so a 503 that
 * Flagger retries, logged as the daemon's error, naming the setting to fix. */
export class Misconfigured extends K6gateError {
  readonly status = 503;
  readonly code = 'misconfigured';
  override headers() {
    return { 'Retry-After': '30' };
  }
}
