// A local stand-in for the Slack Web API (Slack cannot be reached from tests): a real HTTP
// server on 127.0.0.1:0 that answers chat.postMessage, chat.update and the external-upload
// flow as Slack does, records every call in order, and can fail chosen channels or hang.

export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  authorization: string | null;
  /** For the upload URL: the bytes received. */
  uploaded?: string;
}

export interface SlackRecorderOptions {
  /** Channel names or IDs whose calls answer `{ok:false, error:'channel_not_found'}`. */
  failChannels?: string[];
  /** Methods that answer `{ok:false, error:'internal_error'}`. */
  failMethods?: string[];
  /** Never answer (to test client timeouts). */
  hang?: boolean;
}

/** Slack returns channel IDs; the recorder derives a stable one from a name. */
export const channelId = (nameOrId: string) =>
  /^C[A-Z0-9]+$/.test(nameOrId) ? nameOrId : `C${nameOrId.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;

async function readParams(request: Request): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type') ?? '';
  const params: Record<string, unknown> = {};
  if (type.includes('application/json')) return (await request.json()) as Record<string, unknown>;
  const body = await request.text();
  for (const [k, v] of new URLSearchParams(body)) {
    params[k] = v.startsWith('[') || v.startsWith('{') ? safeJson(v) : v;
  }
  return params;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

export function startSlackRecorder(opts: SlackRecorderOptions = {}) {
  const calls: RecordedCall[] = [];
  let seq = 0;
  const fail = new Set((opts.failChannels ?? []).flatMap((c) => [c, channelId(c)]));
  const server: Bun.Server<undefined> = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request): Promise<Response> {
      const url = new URL(request.url);
      if (opts.hang) return new Promise<Response>(() => {});
      if (url.pathname.startsWith('/upload/')) {
        // The SDK posts the content as multipart form data (one file part).
        let uploaded: string;
        if ((request.headers.get('content-type') ?? '').includes('multipart/form-data')) {
          const form = await request.formData();
          const part = [...form.values()][0];
          uploaded = typeof part === 'string' ? part : await (part as Blob).text();
        } else uploaded = await request.text();
        calls.push({
          method: 'upload',
          params: { fileId: url.pathname.slice(8) },
          authorization: request.headers.get('authorization'),
          uploaded,
        });
        return new Response('OK - 1');
      }
      const method = url.pathname.replace(/^\/api\//, '');
      const params = await readParams(request);
      calls.push({ method, params, authorization: request.headers.get('authorization') });
      const channel = String(params.channel ?? params.channel_id ?? '');
      if (fail.has(channel)) return Response.json({ ok: false, error: 'channel_not_found' });
      if (opts.failMethods?.includes(method))
        return Response.json({ ok: false, error: 'internal_error' });
      seq++;
      const ts = `1700000000.${String(seq).padStart(6, '0')}`;
      switch (method) {
        case 'chat.postMessage':
          return Response.json({
            ok: true,
            channel: channelId(channel),
            ts,
            message: { text: params.text, ts },
          });
        case 'chat.update':
          return Response.json({ ok: true, channel, ts: params.ts, text: params.text });
        case 'files.getUploadURLExternal':
          return Response.json({
            ok: true,
            upload_url: `http://127.0.0.1:${server.port}/upload/F${seq}`,
            file_id: `F${seq}`,
          });
        case 'files.completeUploadExternal':
          return Response.json({
            ok: true,
            files: (params.files as { id: string }[]).map((f) => ({
              id: f.id,
              title: 'k6-results.txt',
            })),
          });
        default:
          return Response.json({ ok: false, error: 'unknown_method' });
      }
    },
  });
  return {
    apiUrl: `http://127.0.0.1:${server.port}/api/`,
    calls,
    methods: () => calls.map((c) => c.method),
    stop: () => server.stop(true),
  };
}
