// Namespace globs (`team-*`, `ns-?`): `*` any run of characters, `?` one; nothing else special.

export type GlobMatcher = (name: string) => boolean;

/** A matcher for any of `globs`; `ifEmpty` answers when there are none. */
export function compileGlobs(globs: readonly string[], ifEmpty: boolean): GlobMatcher {
  if (globs.length === 0) return () => ifEmpty;
  const escaped = globs.map((g) =>
    g
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.'),
  );
  const re = new RegExp(`^(?:${escaped.join('|')})$`);
  return (name) => re.test(name);
}
