// The floor of any Bun daemon (bench/start.ts): Bun.serve answering /health, compiled with
// k6gate's flags.
Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.env.LISTEN_PORT),
  fetch: () => new Response('ok'),
});
Bun.unsafe.setJITPolicy(1); // as k6gate serve does once it listens
