import { closest, distance } from 'fastest-levenshtein';

/** The closest candidate to value, when it is close enough to be a likely typo. */
export function suggest(value: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0 || value === '') return undefined;
  const lower = value.toLowerCase();
  const exactCase = candidates.find((c) => c.toLowerCase() === lower);
  if (exactCase) return exactCase;
  const best = closest(lower, candidates);
  const d = distance(lower, best);
  const prefix = candidates.find((c) => c.startsWith(lower) || lower.startsWith(c));
  if (d <= Math.max(2, Math.floor(best.length / 3))) return best;
  return prefix;
}

/** " (did you mean 'x'?)" or "" */
export function didYouMean(value: string, candidates: readonly string[]): string {
  const s = suggest(value, candidates);
  return s ? ` (did you mean '${s}'?)` : '';
}
