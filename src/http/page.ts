// GET /: the runs page — running tests with their progress, recent verdicts with their reason,
// a run's live log, thresholds, comparison and its canary's trend. One HTML file with its script
// inline (page/index.html), embedded in the binary by Bun's bundler: no CDN, no fetch from
// outside; a Content-Security-Policy allows exactly that script. Behind the auth file like the
// API it reads (a browser asks for the client's name and token once).

import { Elysia } from 'elysia';
import pageFile from './page/index.html' with { type: 'text' };
import type { ClientDirectory } from '../auth/clients.ts';
import type { Logger } from '../core/log.ts';
import { authenticate } from './auth.ts';
import { requestContextPlugin } from './request-context.ts';

// Imported as text (the attribute); bun-types types every .html import as an HTMLBundle.
const page = pageFile as unknown as string;

// The one inline script's digest, for the policy (computed once, on the first request).
let policy: string | undefined;
function contentSecurityPolicy(): string {
  if (policy) return policy;
  const script = /<script>([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '';
  const digest = new Bun.CryptoHasher('sha256').update(script).digest('base64');
  policy = `default-src 'none'; script-src 'sha256-${digest}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return policy;
}

export function pagePlugin(opts: { clients: ClientDirectory | undefined; logger: Logger }) {
  return new Elysia({ name: 'k6gate.page' })
    .use(requestContextPlugin(opts.logger))
    .get('/', ({ request }) => {
      if (opts.clients) authenticate(request, opts.clients);
      return new Response(page, {
        headers: {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': contentSecurityPolicy(),
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'no-cache',
        },
      });
    });
}
