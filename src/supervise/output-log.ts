// A child's combined stdout+stderr in one append-only file (emission order kept, no memory
// growth), bounded on disk by compaction and read back as head + marker + tail.

import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

export interface OutputSnapshot {
  text: string;
  truncated: boolean;
  /** Bytes the child wrote in all (including what was dropped). */
  totalBytes: number;
}

export interface OutputLog {
  /** Descriptor to hand to the child for stdout and stderr. */
  readonly fd: number;
  /** Reads bytes not yet scanned (at most `limit`), for start detection. */
  readNew(limit: number): string;
  /** Keeps the file within bounds while the child runs; cheap when nothing to do. */
  compactIfNeeded(): void;
  snapshot(): OutputSnapshot;
  close(): void;
}

const DECODER = new TextDecoder();

/** `maxBytes` is what a snapshot keeps; the file may grow to 4× that before compaction. */
export function openOutputLog(path: string, maxBytes: number): OutputLog {
  const fd = openSync(path, 'a+', 0o600);
  const headKeep = Math.floor(maxBytes / 2);
  const tailKeep = maxBytes - headKeep;
  const compactAt = Math.max(4 * maxBytes, 64 * 1024);
  let dropped = 0;
  let scanned = 0;
  let closed = false;

  const size = () => fstatSync(fd).size;
  const readRange = (start: number, length: number): Buffer => {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, start + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  };

  return {
    fd,
    readNew(limit) {
      const end = size();
      if (scanned > end) scanned = end;
      const length = Math.min(limit, end - scanned);
      if (length <= 0) return '';
      const text = DECODER.decode(readRange(scanned, length));
      scanned += length;
      return text;
    },
    compactIfNeeded() {
      if (closed) return;
      const current = size();
      if (current <= compactAt) return;
      // Keep the head and the newest tail; the child's O_APPEND writes continue at the end.
      const tail = readRange(current - tailKeep, tailKeep);
      ftruncateSync(fd, headKeep);
      writeSync(fd, tail);
      dropped += current - tailKeep - headKeep;
      scanned = Math.min(scanned, headKeep);
    },
    snapshot() {
      const current = size();
      if (dropped === 0 && current <= maxBytes) {
        return {
          text: DECODER.decode(readRange(0, current)),
          truncated: false,
          totalBytes: current,
        };
      }
      const head = readRange(0, Math.min(headKeep, current));
      const tailLength = Math.min(tailKeep, current - head.length);
      const tail = readRange(current - tailLength, tailLength);
      const lost = dropped + (current - head.length - tail.length);
      const marker = `\n[… k6gate: ${lost} bytes of output omitted …]\n`;
      return {
        text: DECODER.decode(head) + marker + DECODER.decode(tail),
        truncated: true,
        totalBytes: current + dropped,
      };
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}
