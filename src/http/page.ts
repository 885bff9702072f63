// GET /: the runs page — running tests with their progress, recent verdicts with their reason,
// a run's live log, thresholds, comparison and its canary's trend. One HTML file with its script
// inline (page/index.html), embedded in the binary by Bun's bundler: no CDN, no fetch from
// outside; a Content-Security-Policy allows exactly that script. Behind the auth file like the
// API it reads (a browser asks for the client's name and token once).

import type { ClientDirectory } from '../auth/clients.ts';
import { authenticate } from './auth.ts';

// The page and its policy, loaded on the first request (a daemon nobody browses never parses
// them). Imported as text (the attribute); bun-types types every .html import as an HTMLBundle.
let loaded: Promise<{ page: string; policy: string }> | undefined;
const loadPage = () =>
  (loaded ??= import('./page/index.html', { with: { type: 'text' } }).then((m) => {
    const page = (m as { default: unknown }).default as string;
    return { page, policy: contentSecurityPolicy(page) };
  }));

// The one inline script's digest, for the policy.
function contentSecurityPolicy(page: string): string {
  const script = /<script>([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '';
  const digest = new Bun.CryptoHasher('sha256').update(script).digest('base64');
  return `default-src 'none'; script-src 'sha256-${digest}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** GET / (createApp mounts it on the app itself). */
export function pageHandler(opts: { clients: ClientDirectory | undefined }) {
  return async ({ request }: { request: Request }) => {
    if (opts.clients) authenticate(request, opts.clients);
    const { page, policy } = await loadPage();
    return new Response(page, {
      headers: {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': policy,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-cache',
      },
    });
  };
}
