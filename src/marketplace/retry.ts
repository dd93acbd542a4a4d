/**
 * Backoff arithmetic for the marketplace client: capped exponential
 * backoff with full jitter, and Retry-After in either of its two forms
 * (delta-seconds or an HTTP date). Pure functions; the client owns the loop.
 */

export interface BackoffPolicy {
  /** First delay ceiling in ms (attempt 1 sleeps up to this). */
  baseMs: number;
  /** Largest delay ceiling in ms. */
  capMs: number;
  /** Attempts in all, the first one included. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 10_000, maxAttempts: 5 };

/**
 * Full jitter (AWS architecture blog "Exponential Backoff and Jitter"):
 * sleep a uniform random time in [0, min(cap, base * 2^(attempt-1))].
 * `attempt` is the number of the attempt that just failed, from 1.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Parse a Retry-After header value into milliseconds from `now`.
 * Accepts delta-seconds ("120") and an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT").
 * Returns undefined for a missing or unparsable value; never negative.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (/^\d+\.\d+$/.test(v)) return Math.ceil(Number(v) * 1000);
  // An HTTP date always names a month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone accepts "-1".
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Statuses worth another attempt: the server asked us to come back or failed transiently. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}
