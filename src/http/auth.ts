// Caller authentication for the routes that run tests: `Authorization: Basic base64(name:token)`
// (what Flagger sends by itself when the webhook URL carries userinfo) or `Bearer <token>`,
// checked against the auth file. Without an auth file every caller is let through (undefined).

import type { Client, ClientDirectory } from '../auth/clients.ts';
import { Forbidden, Unauthorized } from '../core/errors.ts';
import { compileGlobs } from '../core/globs.ts';
import { readJsonBody } from './read-body.ts';

/** Which namespaces a request may reach: --allowed-namespaces, then its client's (with an auth
 * file; throws Unauthorized without valid credentials). For the routes that read or write a
 * namespace's state: gates, events, the runs API. */
export function namespaceScope(opts: {
  clients: ClientDirectory | undefined;
  allowedNamespaces: readonly string[];
}): (request: Request) => (namespace: string) => boolean {
  const allowed = compileGlobs(opts.allowedNamespaces, true);
  return (request) => {
    const client = opts.clients && authenticate(request, opts.clients);
    return (ns) => allowed(ns) && (!client || client.mayUse(ns));
  };
}

/** Reads the body of a route that writes or asks about one namespace (gates, events): the caller
 * authenticated before the body is read (401), the body decoded by `decode` (400 naming the
 * field), then its namespace checked (403 with `refusal`'s words). */
export function scopedBodyReader<T extends { namespace: string }>(
  opts: Parameters<typeof namespaceScope>[0] & { maxBodyBytes: number },
  decode: (body: unknown) => T,
  refusal: (namespace: string) => string,
): (request: Request) => Promise<T> {
  const scope = namespaceScope(opts);
  return async (request) => {
    const may = scope(request);
    const value = decode(await readJsonBody(request, opts.maxBodyBytes));
    if (!may(value.namespace)) throw new Forbidden('namespace', refusal(value.namespace));
    return value;
  };
}

/** The client a request authenticates as; throws Unauthorized. */
export function authenticate(request: Request, directory: ClientDirectory): Client {
  const header = request.headers.get('authorization') ?? '';
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  let client: Client | undefined;
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0)
      client = directory.authenticate(
        decodeURIComponentSafe(decoded.slice(0, colon)),
        decoded.slice(colon + 1),
      );
  } else if (scheme.toLowerCase() === 'bearer' && value !== '') {
    client = directory.authenticate(undefined, value);
  }
  if (!client) throw new Unauthorized();
  return client;
}

// Go's URL userinfo is percent-decoded before Basic encoding; tolerate either form of a name.
function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
