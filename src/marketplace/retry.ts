/**
 * Backoff arithmetic for the marketplace client: capped exponential
 * backoff with full jitter, and Retry-After in either of its two forms
 * (delta-seconds or an HTTP date). Pure functions; the client owns the loop.
 */
import { seconds } from './answer.js';

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

/** The longest Retry-After taken as given: a date years away is "more than a day", never waited for. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Parse a Retry-After header value into milliseconds from `now`, at most
 * MAX_RETRY_AFTER_MS. Accepts delta-seconds ("120") and an HTTP date
 * ("Wed, 21 Oct 2015 07:28:00 GMT"). Returns undefined for a missing or
 * unparsable value; never negative.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(MAX_RETRY_AFTER_MS, Number(v) * 1000);
  if (/^\d+\.\d+$/.test(v)) return Math.min(MAX_RETRY_AFTER_MS, Math.ceil(Number(v) * 1000));
  const at = retryAfterDate(v);
  return at === undefined ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}

/** The time a Retry-After in its HTTP-date form names (epoch ms); undefined for delta-seconds or garbage. */
export function retryAfterDate(value: string | string[] | undefined): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  // An HTTP date always names a month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone accepts "-1".
  if (!v || !/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * A Retry-After for a message: delta-seconds as the server sent them
 * ("3600s"), an HTTP date as the wait and the time it names
 * ("2h 05m (at 2026-11-26T07:05:00Z)"), and "more than a day" past the cap.
 */
export function retryAfterText(value: string | string[] | undefined, ms: number): string {
  const at = retryAfterDate(value);
  const wait = at === undefined && ms < MAX_RETRY_AFTER_MS ? seconds(ms) : waitText(ms);
  return at === undefined ? wait : `${wait} (at ${isoSeconds(at)})`;
}

/** A time as `2042-12-01T10:00:00Z`. */
function isoSeconds(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? 'a date out of range' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A wait for people: "1.5s" under a minute, then "4m 05s", "3h 05m", and
 * "more than a day" from MAX_RETRY_AFTER_MS on (never "2300099542.4s").
 */
export function waitText(ms: number): string {
  if (ms >= MAX_RETRY_AFTER_MS) return 'more than a day';
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${pad(whole % 60)}s`;
  return `${Math.floor(whole / 3600)}h ${pad(Math.floor((whole % 3600) / 60))}m`;
}

/** Statuses worth another attempt: the server asked us to come back or failed transiently. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}
