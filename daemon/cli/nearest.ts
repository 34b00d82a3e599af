/** Levenshtein distance: insertions, deletions and substitutions of one character each. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The known word closest to `word` (a typo of it, or a word it begins), if one is close enough. */
export function nearest(word: string, known: string[]): string | undefined {
  const w = word.toLowerCase();
  const prefixed = known.filter((k) => k.startsWith(w));
  if (w.length >= 2 && prefixed.length === 1) return prefixed[0];
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(w, k);
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(best.k.length / 3)) ? best.k : undefined;
}
