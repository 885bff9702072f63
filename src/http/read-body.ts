// Reading a launch body: JSON only (415 otherwise, so a cross-origin text/plain form post is
// refused), at most `limit` bytes whether the length is declared or chunked (413), and a client
// that goes away mid-body is told apart from a fault of ours.

import { BadRequest, ClientGone, PayloadTooLarge, UnsupportedMediaType } from '../core/errors.ts';

/** Reads at most `limit` bytes of body and decodes it as JSON. */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new UnsupportedMediaType('expected Content-Type: application/json (as Flagger sends)');
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    throw new PayloadTooLarge(`request body larger than ${limit} bytes`);
  }
  // With a declared length within the limit, one read; otherwise count while streaming.
  const text = declared !== null ? await readDeclared(request) : await readLimited(request, limit);
  if (text.trim() === '')
    throw new BadRequest('body', 'empty body: expected a Flagger webhook payload');
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('body', 'the body is not valid JSON');
  }
}

async function readDeclared(request: Request): Promise<string> {
  try {
    return await request.text();
  } catch {
    throw new ClientGone('the client went away while sending the body');
  }
}

async function readLimited(request: Request, limit: number): Promise<string> {
  const reader = request.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const read: { done: boolean; value?: unknown } = await reader.read();
      if (read.done) break;
      const value = read.value;
      if (!(value instanceof Uint8Array)) throw new TypeError('request body chunk is not bytes');
      size += value.byteLength;
      if (size > limit) {
        void reader.cancel().catch(() => {});
        throw new PayloadTooLarge(`request body larger than ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof PayloadTooLarge) throw err;
    if (request.signal.aborted) throw new ClientGone('the client went away while sending the body');
    // Bun ends the stream with an error when the body passes the server's maxRequestBodySize.
    throw new PayloadTooLarge(`request body larger than ${limit} bytes`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
