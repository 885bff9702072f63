// The runs API (GET, JSON, behind the auth file: a client sees only its namespaces, and a run it
// may not see is a 404 like one that does not exist): /api/v1/runs (running first, then recent,
// paged), /api/v1/runs/{id}, /api/v1/runs/{id}/log (Server-Sent Events: the output so far, each
// chunk as it comes, the verdict last), /api/v1/canaries/{namespace}/{name} (timeline and
// trend), /api/v1/verdict (an Argo Rollouts web metric) and the OpenAPI document that
// describes them all (schemas/openapi.json). One wildcard route: each Elysia route costs start
// time.

import type { ClientDirectory } from '../auth/clients.ts';
import { BadRequest, Busy, NotFound } from '../core/errors.ts';
import { parseGoDuration } from '../core/go-syntax.ts';
import type { Logger } from '../core/log.ts';
import { checkCanaryName } from '../flagger/payload.ts';
import type { CanaryHistory } from '../launch/canary-history.ts';
import type { LogEvent } from '../launch/run-log.ts';
import type { RunViews, Visible } from '../launch/run-views.ts';
import { namespaceScope } from './auth.ts';

export interface RunRouteOptions {
  views: RunViews;
  runLog: {
    follow(id: string, v: Visible, emit: (e: LogEvent) => void, s: AbortSignal): Promise<void>;
  };
  history: CanaryHistory;
  clients: ClientDirectory | undefined;
  allowedNamespaces: readonly string[];
  logger: Logger;
  /** Requests held open at once (default MAX_HELD). */
  maxHeld?: number;
}

/** Requests held open at once (log streams, waiting verdicts): more get a 429, so callers
 * cannot pile up connections without bound. */
const MAX_HELD = 256;

/** The longest a verdict request may wait for a run under way (`wait=`). */
const MAX_WAIT_MS = 30 * 60_000;
const VERDICTS = ['running', 'ended', 'passed', 'failed', 'aborted', 'error', 'lost'] as const;

/** GET /api/v1/*: one handler for every runs route (each Elysia route or plugin instance costs
 * start time; createApp mounts it on the app itself). */
export function runsHandler(opts: RunRouteOptions) {
  const visibility: (request: Request) => Visible = namespaceScope(opts);
  let held = 0;
  // A request held open counts until its release; a 429 when MAX_HELD are.
  const hold = () => {
    if (held >= (opts.maxHeld ?? MAX_HELD)) throw new Busy(5);
    held++;
    let released = false;
    return () => {
      if (!released) held--;
      released = true;
    };
  };
  const handle = async (c: { request: Request; server: Bun.Server<unknown> | null }) => {
    const url = new URL(c.request.url);
    const parts = url.pathname.split('/').slice(3).map(decodePart); // after /api/v1/
    if (parts[0] === 'openapi.json' && parts.length === 1) {
      // Loaded when asked for: a daemon nobody reads it from never parses it.
      const { default: openapi } = await import('../../schemas/openapi.json');
      return Response.json(openapi);
    }
    const visible = visibility(c.request);
    const q = url.searchParams;
    if (parts[0] === 'runs' && parts.length === 1) return Response.json(await list(q, visible));
    if (parts[0] === 'runs' && parts.length === 2) {
      return Response.json(await opts.views.get(parts[1] as string, visible));
    }
    if (parts[0] === 'runs' && parts.length === 3 && parts[2] === 'log') {
      await opts.views.get(parts[1] as string, visible); // 404 before the stream opens
      c.server?.timeout(c.request, 0);
      const log = opts.logger.child({ runId: parts[1] });
      const release = hold();
      return eventStream(c.request, log, (emit, signal) =>
        opts.runLog.follow(parts[1] as string, visible, emit, signal).finally(release),
      );
    }
    if (parts[0] === 'canaries' && parts.length === 3) {
      const canary = canaryOf(parts[1], parts[2], visible);
      const revisions = numberParam(q, 'revisions', 10, 100);
      const [timeline, trend] = await Promise.all([
        opts.history.timeline(canary),
        opts.history.trend(canary, revisions),
      ]);
      return Response.json({ ...canary, timeline, trend });
    }
    if (parts[0] === 'verdict' && parts.length === 1) {
      const canary = canaryOf(q.get('namespace') ?? '', q.get('canary') ?? '', visible);
      const waitMs = durationParam(q, 'wait');
      if (waitMs > 0) c.server?.timeout(c.request, 0);
      const ask = {
        ...canary,
        checksum: q.get('checksum') ?? undefined,
        phase: q.get('phase') ?? undefined,
      };
      const release = waitMs > 0 ? hold() : () => {};
      try {
        return Response.json(await opts.history.verdict(ask, waitMs, c.request.signal));
      } finally {
        release();
      }
    }
    throw new NotFound('404 page not found');
  };

  async function list(q: URLSearchParams, visible: Visible) {
    const state = q.get('verdict') ?? undefined;
    if (state !== undefined && !VERDICTS.includes(state as never)) {
      throw new BadRequest('verdict', `expected one of ${VERDICTS.join(', ')}`);
    }
    return opts.views.list(
      {
        namespace: q.get('namespace') ?? undefined,
        name: q.get('canary') ?? undefined,
        state: state as (typeof VERDICTS)[number] | undefined,
        before: q.get('before') ?? undefined,
        limit: numberParam(q, 'limit', 50, 500),
      },
      visible,
    );
  }

  return handle;
}

// A path segment as sent; one that is not valid percent-encoding names nothing here.
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new NotFound('404 page not found');
  }
}

// A canary named in a path or query: valid names, one the caller may see (else 404).
function canaryOf(namespace: string | undefined, name: string | undefined, visible: Visible) {
  const c = {
    namespace: checkCanaryName(namespace ?? '', 'namespace', 'namespace'),
    name: checkCanaryName(name ?? '', 'name', 'canary'),
  };
  if (!visible(c.namespace)) throw new NotFound(`no canary ${c.namespace}/${c.name}`);
  return c;
}

function numberParam(q: URLSearchParams, key: string, fallback: number, max: number): number {
  const text = q.get(key);
  if (text === null) return fallback;
  if (!/^[1-9][0-9]{0,5}$/.test(text) || Number(text) > max) {
    throw new BadRequest(key, `expected a whole number from 1 to ${max}`);
  }
  return Number(text);
}

function durationParam(q: URLSearchParams, key: string): number {
  const text = q.get(key);
  if (text === null || text === '') return 0;
  const ms = parseGoDuration(text);
  if (ms === undefined || ms < 0 || ms > MAX_WAIT_MS) {
    throw new BadRequest(key, 'expected a Go duration from 0s to 30m, e.g. "5m"');
  }
  return ms;
}

/** How often an idle event stream says it is alive (proxies cut silent connections). */
const KEEPALIVE_MS = 15_000;
const ENCODER = new TextEncoder();

// A Server-Sent Events answer fed by `produce` until it returns or the client leaves.
function eventStream(
  request: Request,
  log: Logger,
  produce: (emit: (e: LogEvent) => void, signal: AbortSignal) => Promise<void>,
): Response {
  const gone = new AbortController();
  request.signal.addEventListener('abort', () => gone.abort(), { once: true });
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (!gone.signal.aborted) controller.enqueue(ENCODER.encode(text));
      };
      const keepalive = setInterval(() => write(': keep-alive\n\n'), KEEPALIVE_MS);
      write('retry: 3000\n\n');
      void produce((e) => write(frame(e)), gone.signal)
        .catch((err: unknown) => {
          log.error('cannot follow the run log', { err });
          write(frame({ event: 'error', message: 'the log could not be followed' }));
        })
        .finally(() => {
          clearInterval(keepalive);
          if (!gone.signal.aborted) controller.close();
        });
    },
    cancel() {
      gone.abort();
    },
  });
  return new Response(stream, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    },
  });
}

// One event: its name, then its data, one `data:` line per line (the client joins them with \n).
function frame(e: LogEvent | { event: 'error'; message: string }): string {
  const data = e.event === 'output' ? e.text : JSON.stringify(e.event === 'verdict' ? e.run : e);
  return `event: ${e.event}\n${data
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}
