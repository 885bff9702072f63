// The floor of an Elysia daemon (bench/start.ts): one route, compiled with k6gate's flags. What
// any k6gate start pays before its own modules: Bun, Elysia and TypeBox's evaluation, the listen.
import { Elysia } from 'elysia';

new Elysia()
  .get('/health', () => 'ok')
  .listen({ hostname: '127.0.0.1', port: Number(process.env.LISTEN_PORT) });
Bun.unsafe.setJITPolicy(1); // as k6gate serve does once it listens
