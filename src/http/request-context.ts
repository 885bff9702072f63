// Per-request context shared by every feature's routes: a request id (also sent back as
// X-Request-Id), a logger carrying it, and the one error renderer, registered globally once.
// The features add their routes to the app that has it (`Routes`): functions of the app, not
// Elysia instances of their own, each of which costs start time to merge (bench/README.md,
// "Session 15": 1.5 → 0.9 ms to build the app).

import { Elysia, type AnyElysia } from 'elysia';
import type { Logger } from '../core/log.ts';
import { renderError, wantsJson } from './render-error.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A caller-supplied X-Request-Id is kept when it is short and plain; otherwise a fresh UUID. */
function requestIdOf(request: Request): string {
  const given = request.headers.get('x-request-id');
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

const ids = new WeakMap<Request, string>();
function idFor(request: Request): string {
  let id = ids.get(request);
  if (!id) {
    id = requestIdOf(request);
    ids.set(request, id);
  }
  return id;
}

/** A feature's routes, added to the app that has the request context. */
export type Routes = (app: ContextApp) => AnyElysia;
type ContextApp = ReturnType<typeof requestContextPlugin>;

export function requestContextPlugin(logger: Logger) {
  return new Elysia({ name: 'k6gate.request-context' })
    .derive({ as: 'global' }, ({ request }) => {
      const requestId = idFor(request);
      return { requestId, log: logger.child({ requestId }) };
    })
    .onError({ as: 'global' }, ({ error, request }) => {
      const requestId = idFor(request);
      return renderError(error, {
        requestId,
        wantsJson: wantsJson(request),
        logger: logger.child({ requestId }),
      });
    });
}
