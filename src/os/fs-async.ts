// node:fs/promises, loaded on its first use (the first run) rather than at start: its module
// costs a compiled daemon ~0.5 ms of start (bench/README.md, "Session 15"). A caller pays one
// await per use.

let loaded: Promise<typeof import('node:fs/promises')> | undefined;

/** @example await (await fsAsync()).rm(dir, { recursive: true, force: true }); */
export function fsAsync(): Promise<typeof import('node:fs/promises')> {
  return (loaded ??= import('node:fs/promises'));
}
