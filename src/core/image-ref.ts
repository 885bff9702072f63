// Container image references matched as repositories: "grafana/k6" admits grafana/k6:<tag> and
// grafana/k6@sha256:…, never grafana/k6-evil or grafana/k6/other; "registry.example/k6/*"
// admits any repository one level under registry.example/k6; an entry with a tag or a digest
// admits that exact reference. A "*" anywhere but a whole last path segment is refused when the
// list is read, since a prefix match is what let grafana/k6-evil in.

/** The repository of `ref` (the reference without its :tag and @digest). */
function repositoryOf(ref: string): string {
  const noDigest = ref.split('@')[0] ?? ref;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

/** Why `entry` cannot be an allow-list entry, or undefined when it can. */
export function imageEntryProblem(entry: string): string | undefined {
  const star = entry.indexOf('*');
  if (star === -1) return undefined;
  if (entry.endsWith('/*') && star === entry.length - 1) return undefined;
  return `"${entry}": a "*" may only be a whole last path segment ("registry.example/k6/*"); a repository such as "grafana/k6" already admits all its tags and digests`;
}

/** A matcher for any of `entries` (each checked with imageEntryProblem first). */
export function compileImageAllowList(entries: readonly string[]): (ref: string) => boolean {
  return (ref) => {
    const repo = repositoryOf(ref);
    return entries.some((e) => {
      if (e.endsWith('/*')) {
        const under = e.slice(0, -1);
        return repo.startsWith(under) && !repo.slice(under.length).includes('/');
      }
      return repositoryOf(e) === e ? repo === e : ref === e;
    });
  };
}
