/**
 * "Did you mean …?" for unknown option names, in the manner of commander's suggestSimilar: optimal
 * string alignment distance, at most 3 edits and at least 40% of the word kept. snake_case is also
 * compared in camelCase, so Keras spellings such as `min_delta` find `minDelta`.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2][j - 2] + 1);
      d[i][j] = best;
    }
  }
  return d[a.length][b.length];
}

function camel(word: string): string {
  return word.replace(/[_-]+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
}

/** The closest candidate, or undefined when none is close enough to be a plausible typo. */
export function suggestSimilar(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = Math.min(editDistance(word, candidate), editDistance(camel(word), candidate));
    const similarity =
      (Math.max(word.length, candidate.length) - distance) /
      Math.max(word.length, candidate.length);
    if (distance <= 3 && similarity > 0.4 && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `" (did you mean \"x\"?)"` or the empty string. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const suggestion = suggestSimilar(word, candidates);
  return suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
}
