// The gate routes Flagger's gate hooks call (`confirm-promotion`, `rollback`, `confirm-rollout`,
// …) with `{name, namespace, phase, checksum}`: /gate/promotion and /gate/rollback, tied to the
// revision's load tests, and the loadtester's manual gates (/gate/approve, /gate/halt,
// /gate/check, /gate/open, /gate/close, /rollback/check, /rollback/open, /rollback/close).
// 200 with a one-line reason when the gate is open, 403 with the reason when it is closed.
// Behind the auth file like /launch-test: a client reaches only its namespaces.

import type { ClientDirectory } from '../auth/clients.ts';
import { BadRequest, NotFound } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { checkCanaryName } from '../flagger/payload.ts';
import type { Canary, GateAnswer, Gates } from '../launch/gates.ts';
import { scopedBodyReader } from './auth.ts';
import { PLAIN_TEXT } from './render-error.ts';
import type { Routes } from './request-context.ts';

export interface GateRouteOptions {
  gates: Gates;
  clients: ClientDirectory | undefined;
  allowedNamespaces: readonly string[];
  maxBodyBytes: number;
  logger: Logger;
}

const ROUTES: Record<string, (g: Gates, c: Canary) => Promise<GateAnswer>> = {
  '/gate/promotion': (g, c) => g.promotion(c),
  '/gate/rollback': (g, c) => g.rollback(c),
  '/gate/approve': (g, c) => g.approve(c),
  '/gate/halt': (g, c) => g.halt(c),
  '/gate/check': (g, c) => g.check(c),
  '/gate/open': (g, c) => g.open(c),
  '/gate/close': (g, c) => g.close(c),
  '/rollback/check': (g, c) => g.rollbackCheck(c),
  '/rollback/open': (g, c) => g.rollbackOpen(c),
  '/rollback/close': (g, c) => g.rollbackClose(c),
};

export function gatesRoutes(opts: GateRouteOptions): Routes {
  const read = scopedBodyReader(
    opts,
    canaryOf,
    (namespace) => `gates of namespace "${namespace}" are not yours to ask`,
  );
  // Two parametric routes rather than ten: each Elysia route costs start time and memory.
  const handle = async ({ request, log }: { request: Request; log: Logger }) => {
    const path = new URL(request.url).pathname;
    const ask = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!ask) throw new NotFound('404 page not found');
    const canary = await read(request);
    const fields = { path, canary: `${canary.namespace}/${canary.name}` };
    try {
      const { message } = await ask(opts.gates, canary);
      log.info('gate open', { ...fields, message });
      return new Response(`${message}\n`, { headers: PLAIN_TEXT });
    } catch (err) {
      log.info('gate closed', { ...fields, message: (err as Error).message });
      throw err;
    }
  };
  return (app) =>
    app
      .post('/gate/:action', handle, { parse: 'none' })
      .post('/rollback/:action', handle, { parse: 'none' });
}

// Flagger's payload (name, namespace, checksum; phase and metadata ignored), or a person's
// {name, namespace} for gate/open and gate/close.
function canaryOf(body: unknown): Canary {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest('body', 'expected a JSON object {name, namespace, checksum}');
  }
  const b = body as Record<string, unknown>;
  const text = (key: string) => (typeof b[key] === 'string' ? b[key] : '');
  const checksum = text('checksum');
  if (b.checksum !== undefined && typeof b.checksum !== 'string') {
    throw new BadRequest('checksum', 'expected a string');
  }
  return {
    name: checkCanaryName(text('name'), 'name', 'name'),
    namespace: checkCanaryName(text('namespace'), 'namespace', 'namespace'),
    checksum,
  };
}
