// A child's combined output, bounded in memory: the first half of the cap (the banner, early
// errors) and the newest half (the summary), with a count of what was dropped between them.
// Nothing touches the disk, so a flood costs at most the cap plus one chunk.

export interface OutputSnapshot {
  text: string;
  truncated: boolean;
  /** Bytes the child wrote in all (including what was dropped). */
  totalBytes: number;
}

export interface OutputBuffer {
  /** Appends a chunk (copied). */
  push(chunk: Uint8Array): void;
  /** What is kept now; the same object until the next push (read it, do not change it). */
  snapshot(): Readonly<OutputSnapshot>;
}

const DECODER = new TextDecoder();

/** @example const out = createOutputBuffer(1 << 20); out.push(chunk); out.snapshot().text */
export function createOutputBuffer(maxBytes: number): OutputBuffer {
  const headKeep = Math.floor(maxBytes / 2);
  const tailKeep = maxBytes - headKeep;
  // Kept as the chunks came (copied): a quiet run costs what it printed, not the cap.
  const head: Uint8Array[] = [];
  let headLength = 0;
  const tail: Uint8Array[] = [];
  let tailLength = 0;
  let total = 0;
  // The last snapshot, until more output comes: a run's readers (its log's followers, the runs
  // API's progress, a stateful poll) each ask for it, and joining a megabyte is not free.
  let last: Readonly<OutputSnapshot> | undefined;

  return {
    push(chunk) {
      last = undefined;
      total += chunk.byteLength;
      const toHead = Math.min(headKeep - headLength, chunk.byteLength);
      if (toHead > 0) {
        head.push(chunk.slice(0, toHead));
        headLength += toHead;
      }
      if (toHead === chunk.byteLength) return;
      // Chunks may be views into a reused buffer: keep a copy.
      tail.push(chunk.slice(toHead));
      tailLength += chunk.byteLength - toHead;
      while (tail.length > 1 && tailLength - (tail[0]?.byteLength ?? 0) >= tailKeep) {
        tailLength -= tail.shift()?.byteLength ?? 0;
      }
    },
    snapshot() {
      return (last ??= build());
    },
  };

  function build(): Readonly<OutputSnapshot> {
    const joined = Buffer.concat(tail);
    const kept = joined.subarray(Math.max(0, joined.byteLength - tailKeep));
    const dropped = total - headLength - kept.byteLength;
    const headText = DECODER.decode(Buffer.concat(head));
    if (dropped === 0)
      return { text: headText + DECODER.decode(kept), truncated: false, totalBytes: total };
    const marker = `\n[… k6gate: ${dropped} bytes of output omitted …]\n`;
    return { text: headText + marker + DECODER.decode(kept), truncated: true, totalBytes: total };
  }
}
