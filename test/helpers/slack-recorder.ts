// A local stand-in for the Slack Web API (Slack cannot be reached from tests): a real HTTP
// server on 127.0.0.1:0 that answers auth.test, chat.postMessage, chat.update and the external-upload
// flow (files.getUploadURLExternal → POST to upload_url → files.completeUploadExternal) the way
// Slack does: HTTP 200 with `{ok:true,…}` or `{ok:false,error}`, channel IDs for names, ts
// strings, 429 + Retry-After when rate-limited. It records every call in order and can fail
// chosen channels or methods, rate-limit a method once, or never answer.

interface RecordedCall {
  /** The Web API method (`chat.postMessage`, …), or `upload` for the upload URL. */
  method: string;
  /** The form-encoded or JSON body, JSON-valued fields (blocks, files) parsed. */
  params: Record<string, unknown>;
  /** The Authorization header as received. */
  authorization: string | null;
  /** For `upload`: the file content received. */
  uploaded?: string;
}

export interface SlackRecorderOptions {
  /** Channel names or IDs whose calls answer `{ok:false, error:'channel_not_found'}`. */
  failChannels?: string[];
  /** Methods (or `upload`) that answer `{ok:false, error:'internal_error'}` (upload: HTTP 500). */
  failMethods?: string[];
  /** Never answer: every call (`true`) or the listed methods (`upload` for the upload URL). */
  hang?: boolean | string[];
  /** The first call of each listed method answers 429 with `Retry-After: 1`. */
  rateLimitOnce?: string[];
  /** When set, any other bearer token answers `invalid_auth`. */
  token?: string;
}

/** Slack returns channel IDs; the recorder derives a stable one from a name (`#team` → CTEAM). */
const channelId = (nameOrId: string) =>
  /^[CGD][A-Z0-9]+$/.test(nameOrId)
    ? nameOrId
    : `C${nameOrId.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;

const isChannelId = (value: string) => /^[CGD][A-Z0-9]+$/.test(value);

async function readParams(request: Request): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type') ?? '';
  if (type.includes('application/json')) return (await request.json()) as Record<string, unknown>;
  const params: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(await request.text())) {
    params[k] = v.startsWith('[') || v.startsWith('{') ? parseJsonOr(v) : v;
  }
  return params;
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// The SDK posts the file as multipart form data (one file part); curl-style raw bodies work too.
async function readUpload(request: Request): Promise<string> {
  if (!(request.headers.get('content-type') ?? '').includes('multipart/form-data')) {
    return request.text();
  }
  const form = await request.formData();
  for (const value of form.values()) {
    if (typeof value !== 'string') return value.text();
  }
  return [...form.values()].map(String).join('');
}

const slackError = (error: string) => Response.json({ ok: false, error });

export function startSlackRecorder(opts: SlackRecorderOptions = {}) {
  const calls: RecordedCall[] = [];
  const failing = new Set((opts.failChannels ?? []).flatMap((c) => [c, channelId(c)]));
  const rateLimited = new Set(opts.rateLimitOnce ?? []);
  /** channel ID → ts of the messages posted there */
  const messages = new Map<string, Set<string>>();
  /** file ID → uploaded yet */
  const files = new Map<string, boolean>();
  let seq = 0;
  const nextTs = () => `1700000000.${String(++seq).padStart(6, '0')}`;
  const hangs = (method: string) =>
    opts.hang === true || (Array.isArray(opts.hang) && opts.hang.includes(method));

  function answer(method: string, params: Record<string, unknown>, auth: string | null) {
    const token = auth?.replace(/^Bearer /, '') ?? (params.token as string | undefined);
    if (!token) return slackError('not_authed');
    if (opts.token !== undefined && token !== opts.token) return slackError('invalid_auth');
    const channel = String(params.channel ?? params.channel_id ?? '');
    if (channel && failing.has(channel)) return slackError('channel_not_found');
    if (opts.failMethods?.includes(method)) return slackError('internal_error');
    switch (method) {
      case 'auth.test':
        return Response.json({
          ok: true,
          url: 'https://k6gate-test.slack.com/',
          team: 'k6gate test',
          user: 'k6gate',
          team_id: 'T0001',
          user_id: 'U0001',
          bot_id: 'B0001',
        });
      case 'chat.postMessage': {
        if (!channel) return slackError('channel_not_found');
        if (!params.text && !params.blocks) return slackError('no_text');
        const id = channelId(channel.replace(/^#/, ''));
        const ts = nextTs();
        messages.set(id, (messages.get(id) ?? new Set()).add(ts));
        const message = { type: 'message', user: 'U0K6GATE', text: params.text, ts };
        return Response.json({ ok: true, channel: id, ts, message });
      }
      case 'chat.update': {
        // Unlike postMessage, Slack wants the channel ID here, and a ts it knows.
        if (!isChannelId(channel)) return slackError('channel_not_found');
        const ts = String(params.ts ?? '');
        if (!messages.get(channel)?.has(ts)) return slackError('message_not_found');
        return Response.json({ ok: true, channel, ts, text: params.text, message: params });
      }
      case 'files.getUploadURLExternal': {
        if (!params.filename) return slackError('missing_argument');
        // Slack: "missing_argument … typically only occurs when the length provided is 0".
        if (!(Number(params.length) > 0)) return slackError('missing_argument');
        const fileId = `F${String(++seq).padStart(6, '0')}`;
        files.set(fileId, false);
        return Response.json({
          ok: true,
          upload_url: `http://127.0.0.1:${server.port}/upload/${fileId}`,
          file_id: fileId,
        });
      }
      case 'files.completeUploadExternal': {
        const listed = Array.isArray(params.files) ? (params.files as { id?: string }[]) : [];
        if (listed.length === 0) return slackError('invalid_arguments');
        if (listed.some((f) => !f.id || !files.get(f.id))) return slackError('file_not_found');
        if (channel && !isChannelId(channel)) return slackError('channel_not_found');
        return Response.json({
          ok: true,
          files: (listed as { id: string; title?: string }[]).map((f) => ({
            id: f.id,
            title: f.title ?? '',
            name: f.title ?? '',
          })),
        });
      }
      default:
        return slackError('unknown_method');
    }
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request): Promise<Response> {
      const url = new URL(request.url);
      const authorization = request.headers.get('authorization');
      if (url.pathname.startsWith('/upload/')) {
        const fileId = url.pathname.slice('/upload/'.length);
        const uploaded = await readUpload(request);
        calls.push({ method: 'upload', params: { fileId }, authorization, uploaded });
        if (hangs('upload')) return new Promise<Response>(() => {});
        if (!files.has(fileId)) return new Response('Not Found', { status: 404 });
        if (opts.failMethods?.includes('upload')) return new Response('error', { status: 500 });
        files.set(fileId, true);
        return new Response(`OK - ${Buffer.byteLength(uploaded)}`);
      }
      if (!url.pathname.startsWith('/api/')) return new Response('Not Found', { status: 404 });
      const method = url.pathname.slice('/api/'.length);
      const params = await readParams(request);
      calls.push({ method, params, authorization });
      if (hangs(method)) return new Promise<Response>(() => {});
      if (rateLimited.delete(method)) {
        return Response.json(
          { ok: false, error: 'ratelimited' },
          { status: 429, headers: { 'retry-after': '1' } },
        );
      }
      return answer(method, params, authorization);
    },
  });

  return {
    /** Give this to the SDK as `slackApiUrl`. */
    apiUrl: `http://127.0.0.1:${server.port}/api/`,
    calls,
    /** The recorded method names, in order. */
    methods: () => calls.map((c) => c.method),
    /** Stops the server and cuts any hanging requests. */
    stop: () => server.stop(true),
  };
}

export type SlackRecorder = ReturnType<typeof startSlackRecorder>;
