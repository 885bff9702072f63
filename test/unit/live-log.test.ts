import { expect, test } from 'bun:test';
import type { KubeTransport } from '../../src/kube/client.ts';
import { createLogger } from '../../src/core/log.ts';
import { followPodLog } from '../../src/runners/pods/live-log.ts';

// The bound of a followed pod log (the real API server's pods/log is tested in
// test/kube/job-runner.test.ts): whatever the chunks, a read holds at most the last maxBytes.
test('a followed pod log: every read is its last maxBytes, however the chunks come', async () => {
  const lines = Array.from({ length: 500 }, (_, i) => `line ${String(i).padStart(3, '0')}\n`);
  let sent = '';
  const reads: { sent: string; read: string }[] = [];
  const followed: { log?: { text(): string } } = {};
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const line = lines.shift();
      if (line === undefined) return controller.close();
      sent += line;
      controller.enqueue(new TextEncoder().encode(line));
      await Bun.sleep(0);
      if (followed.log) reads.push({ sent, read: followed.log.text() });
    },
  });
  const kube = {
    server: 'https://127.0.0.1:1',
    get: () => Promise.reject(new Error('unused')),
    request: () => Promise.resolve(new Response(body)),
  } as KubeTransport;
  const log = followPodLog(
    kube,
    { namespace: 'ns', pod: 'p' },
    {
      maxBytes: 100,
      signal: new AbortController().signal,
      logger: createLogger({ level: 'error', format: 'json', write: () => {} }),
    },
  );
  followed.log = log;
  // Bounded waits (a loaded machine is slow, not wrong): every line sent, then read.
  for (let i = 0; i < 10_000 && lines.length > 0; i++) await Bun.sleep(1);
  for (let i = 0; i < 5_000 && log.text() !== sent.slice(-100); i++) await Bun.sleep(1);
  expect(reads.length).toBeGreaterThan(400);
  for (const { sent, read } of reads) {
    // At most the bound, a piece of what was sent, and all of it until the bound is reached.
    expect(read.length).toBeLessThanOrEqual(100);
    expect(sent.includes(read)).toBe(true);
    if (read.length < 100) expect(sent.startsWith(read)).toBe(true);
  }
  expect(log.text()).toBe(sent.slice(-100));
});
