/**
 * What the marketplace said: one HTTP answer as the transport hands it on,
 * and the small readers that the error mapping and the API methods share.
 */
import { redact } from '../io/redact.js';

export const API_PREFIX = '/api/v1';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /**
   * The parsed JSON body; for a body that is not JSON, an object with
   * `__unexpected: true`, its content type, a one-line excerpt and up to 2 KB (redacted).
   */
  json: unknown;
  requestId?: string;
}

const EXCERPT_CHARS = 300;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function pick(json: unknown, key: string): unknown {
  return isObject(json) ? json[key] : undefined;
}

export function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The server's error code (`{error: {code}}`), if it sent one. */
export function serverCode(a: Answer): string | undefined {
  const j = a.json;
  return isObject(j) && isObject(j.error) && typeof j.error.code === 'string' ? j.error.code : undefined;
}

/** A redacted one-line excerpt of a body, for messages. */
export function excerpt(text: string): string {
  const one = redact(text).replace(/\s+/g, ' ').trim();
  return one.length > EXCERPT_CHARS ? `${one.slice(0, EXCERPT_CHARS)}…` : one;
}

/** Milliseconds as "3s" or "2.5s". */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
}
