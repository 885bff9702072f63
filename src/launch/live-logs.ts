// The live output of the runs under way, for whoever follows a run's log (the runs API's
// Server-Sent Events, the page): each chunk k6 prints is handed to the run's followers as it
// comes. Nothing is kept here — a follower starts from the run's bounded output buffer — so a
// run nobody follows costs one map lookup per chunk.

type LogListener = (chunk: Uint8Array) => void;

export interface LiveLogs {
  /** Hands a chunk of a run's output to its followers. */
  push(runId: string, chunk: Uint8Array): void;
  /** Follows a run's output from now on; returns the unfollow. */
  follow(runId: string, listener: LogListener): () => void;
  /** Runs with at least one follower (for the gauge and tests). */
  followed(): number;
}

/** @example const logs = createLiveLogs(); const stop = logs.follow(id, (c) => send(c)); */
export function createLiveLogs(): LiveLogs {
  const followers = new Map<string, Set<LogListener>>();
  return {
    push(runId, chunk) {
      const set = followers.get(runId);
      if (!set) return;
      for (const listener of set) listener(chunk);
    },
    follow(runId, listener) {
      let set = followers.get(runId);
      if (!set) followers.set(runId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && followers.get(runId) === set) followers.delete(runId);
      };
    },
    followed: () => followers.size,
  };
}
