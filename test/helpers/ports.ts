// A free loopback port for a server a test starts that cannot be given port 0 (etcd, the API
// server, PostgreSQL, Flagger's own listener): bound and released at once.

export function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}
