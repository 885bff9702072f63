// POST /events: Flagger's event webhook (a canary's `type: event` hook, or flagger's global
// -event-webhook) — `{name, namespace, phase, checksum, metadata: {eventMessage, eventType,
// timestamp}}` — stored on the canary's rollout timeline. Flagger waits for it in every
// canary's loop, so it answers at once. Behind the auth file like the gates.

import type { ClientDirectory } from '../auth/clients.ts';
import { BadRequest } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { checkCanaryName } from '../flagger/payload.ts';
import type { CanaryHistory } from '../launch/canary-history.ts';
import { scopedBodyReader } from './auth.ts';
import { PLAIN_TEXT } from './render-error.ts';

export interface EventRouteOptions {
  history: CanaryHistory;
  clients: ClientDirectory | undefined;
  allowedNamespaces: readonly string[];
  maxBodyBytes: number;
  logger: Logger;
}

/** Longer event messages are cut (Flagger's are one line). */
const MAX_MESSAGE = 2048;

/** POST /events (createApp mounts it on the app itself, body unparsed). */
export function eventsHandler(opts: EventRouteOptions) {
  const read = scopedBodyReader(
    opts,
    eventOf,
    (namespace) => `events of namespace "${namespace}" are not yours to send`,
  );
  return async ({ request, log }: { request: Request; log: Logger }) => {
    const event = await read(request);
    await opts.history.recordEvent(event);
    log.debug('flagger event', { canary: `${event.namespace}/${event.name}`, phase: event.phase });
    return new Response('ok\n', { headers: PLAIN_TEXT });
  };
}

function eventOf(body: unknown) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest(
      'body',
      'expected a JSON object {name, namespace, phase, checksum, metadata}',
    );
  }
  const b = body as Record<string, unknown>;
  const m = (typeof b.metadata === 'object' && b.metadata !== null ? b.metadata : {}) as Record<
    string,
    unknown
  >;
  const text = (value: unknown, field: string, max: number) => {
    if (value === undefined) return '';
    if (typeof value !== 'string') throw new BadRequest(field, 'expected a string');
    return value.slice(0, max);
  };
  const message = text(m.eventMessage, 'metadata.eventMessage', MAX_MESSAGE);
  if (message === '')
    throw new BadRequest('metadata.eventMessage', "missing: is this Flagger's event webhook?");
  return {
    name: checkCanaryName(text(b.name, 'name', 253), 'name', 'name'),
    namespace: checkCanaryName(text(b.namespace, 'namespace', 63), 'namespace', 'namespace'),
    phase: text(b.phase, 'phase', 64),
    checksum: text(b.checksum, 'checksum', 128),
    type: text(m.eventType, 'metadata.eventType', 32) || 'Normal',
    message,
  };
}
