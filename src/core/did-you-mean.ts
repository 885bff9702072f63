// "Did you mean …?": the known word within two edits of a typo (Levenshtein distance, for keys
// of a few dozen characters), for metadata keys and the auth file's keys.

/** The first of `known` within `maxEdits` of `word` (case-insensitive), or undefined. */
export function nearest(word: string, known: readonly string[], maxEdits = 2): string | undefined {
  const lower = word.toLowerCase();
  return known.find((k) => editDistance(lower, k.toLowerCase()) <= maxEdits);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}
