// The process_* metrics the Go original serves through client_golang's process collector:
// CPU seconds, resident and virtual memory, open and maximum file descriptors, start time.
// Read at scrape time from /proc on Linux; elsewhere from what the runtime knows.

import { readdirSync, readFileSync } from 'node:fs';
import type { MetricsRegistry } from './metrics.ts';

export interface ProcessStats {
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  residentBytes: number;
  virtualBytes: number;
  /** undefined where the platform does not tell. */
  openFds: number | undefined;
  maxFds: number | undefined;
  startTimeSeconds: number;
}

/** Registers the process_* family; `read` is called once per scrape. */
export function registerProcessMetrics(
  registry: MetricsRegistry,
  read: () => ProcessStats = readProcessStats,
): void {
  let last: { at: number; stats: ProcessStats } | undefined;
  // One read per scrape, shared by the metrics below (they render one after another).
  const stats = () => {
    const now = performance.now();
    if (!last || now - last.at > 50) last = { at: now, stats: read() };
    return last.stats;
  };
  registry.collectedCounter(
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
    () => stats().cpuUserSeconds + stats().cpuSystemSeconds,
  );
  registry.collectedGauge(
    'process_resident_memory_bytes',
    'Resident memory size in bytes.',
    () => stats().residentBytes,
  );
  registry.collectedGauge(
    'process_virtual_memory_bytes',
    'Virtual memory size in bytes.',
    () => stats().virtualBytes,
  );
  registry.collectedGauge(
    'process_start_time_seconds',
    'Start time of the process since unix epoch in seconds.',
    () => stats().startTimeSeconds,
  );
  registry.collectedGauge(
    'process_open_fds',
    'Number of open file descriptors.',
    () => stats().openFds ?? Number.NaN,
  );
  registry.collectedGauge(
    'process_max_fds',
    'Maximum number of open file descriptors.',
    () => stats().maxFds ?? Number.NaN,
  );
}

const START_TIME_SECONDS = (Date.now() - performance.now()) / 1000;

/** The real reader: /proc/self on Linux, process.* elsewhere. */
export function readProcessStats(): ProcessStats {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const base: ProcessStats = {
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    residentBytes: mem.rss,
    virtualBytes: Number.NaN,
    openFds: undefined,
    maxFds: undefined,
    startTimeSeconds: START_TIME_SECONDS,
  };
  if (process.platform !== 'linux') return base;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    const maxFds = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
    return {
      ...base,
      residentBytes: kib('VmRSS') * 1024 || base.residentBytes,
      virtualBytes: kib('VmSize') * 1024,
      openFds: readdirSync('/proc/self/fd').length, // as client_golang: the listing fd counts
      maxFds: maxFds === undefined || maxFds === 'unlimited' ? undefined : Number(maxFds),
    };
  } catch {
    return base;
  }
}
