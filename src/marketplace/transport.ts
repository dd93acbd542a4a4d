/**
 * The transport under the marketplace client: one call = attempts with
 * retries, over undici `request` and an EnvHttpProxyAgent built from the
 * caller's env (HTTPS_PROXY / HTTP_PROXY / NO_PROXY apply to every request).
 *
 * - Every attempt has its own timeout and the whole call an overall deadline;
 *   an upload attempt instead fails when no byte moves for `stallTimeoutMs`.
 * - Network errors, 5xx and 429 are retried with capped exponential backoff
 *   and full jitter, honouring Retry-After; other 4xx never. A POST is
 *   retried after a network error only when it carries an Idempotency-Key.
 * - Bodies are read up to 4 MiB; anything that is not JSON becomes an
 *   `__unexpected` answer (never a success).
 * - The token only ever goes in `Authorization`; redirects are not followed.
 * - Unreachable hosts and untrusted certificates fail at once with what to
 *   fix (naming the proxy in use, NODE_EXTRA_CA_CERTS).
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Dispatcher, EnvHttpProxyAgent as EnvHttpProxyAgentType } from 'undici';
import type { Clock } from '../io/context.js';
import { CancelledError, CliError, NetworkError } from '../errors.js';
import { redact } from '../io/redact.js';
import { API_PREFIX, excerpt, headerString, isObject, seconds, serverCode, type Answer } from './answer.js';
import { httpError, withSuffix } from './http-errors.js';
import type { Body } from './multipart.js';
import { backoffDelay, DEFAULT_BACKOFF, isRetryableStatus, parseRetryAfter, retryAfterText, type BackoffPolicy } from './retry.js';

// undici's index loads every dispatcher, fetch, cookies, WebSocket, the mocks and
// the caches (300-600 ms of start-up on a busy 2-core machine); the transport
// needs the proxy-aware agent and the request API alone, loaded from their own files.
const requireUndici = createRequire(import.meta.url);
const EnvHttpProxyAgent = requireUndici('undici/lib/dispatcher/env-http-proxy-agent.js') as typeof EnvHttpProxyAgentType;
const api = requireUndici('undici/lib/api/index.js') as { request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData> };
// As undici's index does: the proxy agent tunnels through its client's `connect`, a method of this API.
Object.assign((requireUndici('undici/lib/dispatcher/dispatcher.js') as { prototype: object }).prototype, api);
const apiRequest = api.request;

/** undici's `request` with an explicit dispatcher (what its index's wrapper does): origin and path from the URL. */
function request(url: string, opts: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher }): Promise<Dispatcher.ResponseData> {
  const u = new URL(url);
  const { dispatcher, ...rest } = opts;
  return apiRequest.call(dispatcher, { ...rest, origin: u.origin, path: `${u.pathname}${u.search}` });
}

export interface TransportOptions {
  /** Normalised base URL, no trailing slash. */
  baseUrl: string;
  token?: string;
  /** Proxy settings are read from here (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), never from process.env. */
  env: NodeJS.ProcessEnv;
  clock: Clock;
  signal?: AbortSignal;
  backoff?: BackoffPolicy;
  /** Per-attempt limit for ordinary (non-upload) requests, ms. */
  attemptTimeoutMs?: number;
  /** An upload attempt fails when no byte moves for this long, ms. */
  stallTimeoutMs?: number;
  random?: () => number;
  /** For tests; by default an EnvHttpProxyAgent over env. */
  dispatcher?: Dispatcher;
  debug?: (line: string) => void;
  /** Told before every retry: what failed and how long the client waits. */
  onRetry?: (info: RetryInfo) => void;
  userAgent?: string;
}

export interface RetryInfo {
  what: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  maxAttempts: number;
  delayMs: number;
  reason: string;
}

export type RetryMode =
  /** Safe to repeat: GETs, and POSTs carrying an Idempotency-Key. */
  | 'idempotent'
  /** Repeat only when the server said it did nothing (429, 503). */
  | 'refused-only';

export interface CallOptions {
  body?: Body | { json: unknown };
  headers?: Record<string, string>;
  retry: RetryMode;
  /** Overall deadline for this call in ms from now. */
  deadlineMs: number;
  /** Per-attempt limit in ms (undefined: the overall deadline). */
  attemptTimeoutMs?: number;
  /** What the call is, for messages: "submit the archive". */
  what: string;
  onAttempt?: (attempt: number) => void;
  /** Accept these non-2xx statuses as answers instead of errors. */
  accept?: number[];
  /** A promise the body waits for (multipartBody's hold): when it rejects, its error ends the call, never retried. */
  bodyFailure?: Promise<unknown>;
  /** Called before a retryable answer is retried; may throw to stop. */
  beforeRetry?: (a: Answer) => Promise<void>;
  /**
   * A 2xx body is streamed here instead of being read as JSON (a download);
   * called afresh on every attempt, so it must start its output over.
   */
  sink?: (body: Readable, headers: Record<string, string | string[] | undefined>) => Promise<void>;
}

type Outcome = { kind: 'answer'; answer: Answer } | { kind: 'error'; error: unknown };

/** A failed attempt that may be tried again: why, and how long the server asked to wait. */
interface RetryableFailure {
  failure: CliError;
  reason: string;
  retryAfterMs?: number;
  /** The Retry-After header as sent, for the message when it is too long to wait for (retryAfterText). */
  retryAfter?: string | string[];
}

const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** Network error codes that mean "nothing reached the server; do not hammer it". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_NONAME']);

/** Certificate problems: retrying cannot help, the user must fix trust. */
const TLS_TRUST = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export class Transport {
  readonly baseUrl: string;
  readonly clock: Clock;
  private readonly token?: string;
  private readonly signal?: AbortSignal;
  private readonly backoff: BackoffPolicy;
  private readonly attemptTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly random: () => number;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
  private readonly debug: (line: string) => void;
  private readonly onRetry?: (info: RetryInfo) => void;
  private readonly userAgent: string;
  /** The proxy the base URL goes through, if one is configured and NO_PROXY does not exclude it (for messages). */
  private readonly proxy?: string;

  constructor(opts: TransportOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.clock = opts.clock;
    this.signal = opts.signal;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 30_000;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 60_000;
    this.random = opts.random ?? Math.random;
    this.debug = opts.debug ?? (() => undefined);
    this.onRetry = opts.onRetry;
    this.userAgent = opts.userAgent ?? 'plexichat-plugin-cli';
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
      this.ownDispatcher = false;
    } else {
      const env = opts.env;
      const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? '';
      const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY ?? '';
      const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
      // Empty strings (not undefined) so undici never falls back to process.env.
      this.dispatcher = new EnvHttpProxyAgent({ httpProxy, httpsProxy, noProxy });
      this.proxy = proxyFor(new URL(this.baseUrl), httpProxy, httpsProxy, noProxy);
      this.ownDispatcher = true;
    }
  }

  async close(): Promise<void> {
    if (this.ownDispatcher) await this.dispatcher.close().catch(() => undefined);
  }

  /** Wait on the injected clock; Ctrl-C (the signal) turns into CancelledError. */
  async sleep(ms: number): Promise<void> {
    try {
      await this.clock.sleep(ms, this.signal);
    } catch {
      throw new CancelledError();
    }
  }

  /** One API call: attempts until an answer is accepted, a failure is final, or the deadline passes. */
  async call(method: 'GET' | 'POST' | 'DELETE', p: string, opts: CallOptions): Promise<Answer> {
    const url = `${this.baseUrl}${API_PREFIX}${p}`;
    const deadlineAt = this.clock.now() + opts.deadlineMs;
    // The overall deadline, on real time, so a hung attempt is cut off.
    const overall = new AbortController();
    const overallTimer = setTimeout(() => overall.abort(new Error('deadline')), opts.deadlineMs);
    overallTimer.unref?.();
    try {
      for (let attempt = 1; ; attempt++) {
        opts.onAttempt?.(attempt);
        const outcome = await this.attempt(method, url, opts, overall.signal);
        let r: RetryableFailure;
        if (outcome.kind === 'answer') {
          const a = outcome.answer;
          if ((a.status >= 200 && a.status < 300) || opts.accept?.includes(a.status)) return a;
          r = this.judgeAnswer(a, opts);
          await opts.beforeRetry?.(a);
          r.retryAfter = a.headers['retry-after'];
          r.retryAfterMs = parseRetryAfter(r.retryAfter, Date.now());
          this.debug(`${method} ${p}: ${r.reason} on attempt ${attempt}`);
        } else {
          if (this.signal?.aborted) throw new CancelledError();
          // The body stopped on purpose (its checks failed): that failure, not a network error.
          if (opts.bodyFailure) await opts.bodyFailure;
          if (overall.signal.aborted || this.clock.now() >= deadlineAt) throw this.timeout(opts.deadlineMs, opts.what);
          r = this.judgeError(outcome.error, opts);
          const err = outcome.error as Error | undefined;
          this.debug(`${method} ${p}: ${redact(String(err?.message ?? err))} (${r.reason}) on attempt ${attempt}`);
        }
        const delay = this.retryDelay(attempt, r, deadlineAt, opts);
        this.onRetry?.({ what: opts.what, attempt, maxAttempts: this.backoff.maxAttempts, delayMs: delay, reason: r.reason });
        await this.sleep(delay);
      }
    } finally {
      clearTimeout(overallTimer);
    }
  }

  /** A non-accepted answer: throw it when it is final, else say why it is retried. */
  private judgeAnswer(a: Answer, opts: CallOptions): RetryableFailure {
    const failure = httpError(a, opts.what, this.baseUrl);
    const code = serverCode(a);
    const retryable =
      opts.retry === 'idempotent'
        ? isRetryableStatus(a.status) ||
          (a.status === 409 && code === 'IDEMPOTENCY_IN_FLIGHT') ||
          // The body was damaged on the way; the key makes a second try safe.
          (a.status === 400 && code === 'DIGEST_MISMATCH')
        : a.status === 429 || a.status === 503;
    if (!retryable) throw failure;
    return {
      failure,
      // The server's code is its text: redacted like the request id (a hostile server may echo the token).
      reason: redact(`HTTP ${a.status}${code ? ` ${code}` : ''}${a.requestId ? ` (request id ${a.requestId})` : ''}`),
    };
  }

  /** A network error: throw it when retrying cannot help, else say why it is retried. */
  private judgeError(err: unknown, opts: CallOptions): RetryableFailure {
    const code = errCode(err);
    if (code && UNREACHABLE.has(code)) throw this.unreachable(code, err);
    if (code && TLS_TRUST.has(code)) {
      throw new NetworkError(`cannot verify the TLS certificate of ${new URL(this.baseUrl).host} (${code})`, {
        hint: 'if your network uses its own certificate authority, point NODE_EXTRA_CA_CERTS at its certificate (PEM) file',
        code: 'TLS_UNTRUSTED',
        cause: err,
      });
    }
    const reason = `${describeNetworkError(code)} (${code ?? 'network error'})`;
    const failure = new NetworkError(`could not ${opts.what}: ${reason} talking to ${this.baseUrl}`, {
      hint: 'check your network (and HTTPS_PROXY/NO_PROXY), then run the command again',
      code: 'NETWORK',
      cause: err,
    });
    // Without an idempotency key a POST that may have reached the server is not repeated.
    if (opts.retry !== 'idempotent') throw failure;
    return { failure, reason };
  }

  /** How long to wait before the next attempt; throws when attempts or time have run out. */
  private retryDelay(attempt: number, r: RetryableFailure, deadlineAt: number, opts: CallOptions): number {
    if (attempt >= this.backoff.maxAttempts) throw withSuffix(r.failure, ` (gave up after ${attempt} attempts)`);
    let delay = backoffDelay(attempt, this.backoff, this.random);
    if (r.retryAfterMs !== undefined) delay = Math.max(delay, r.retryAfterMs);
    const left = deadlineAt - this.clock.now();
    if (delay < left) return delay;
    if (r.retryAfterMs !== undefined && r.retryAfterMs >= left) {
      throw new NetworkError(
        `the marketplace asked to retry after ${retryAfterText(r.retryAfter, r.retryAfterMs)}, beyond the ${seconds(opts.deadlineMs)} time limit (${r.failure.message})`,
        { hint: 'try again later, or allow more time with --timeout', code: 'RETRY_AFTER_TOO_LONG' },
      );
    }
    throw this.timeout(opts.deadlineMs, opts.what);
  }

  private async attempt(method: string, url: string, opts: CallOptions, overall: AbortSignal): Promise<Outcome> {
    const signals = [overall];
    if (this.signal) signals.push(this.signal);
    const upload = opts.body !== undefined && 'stream' in opts.body;
    const perAttempt = opts.attemptTimeoutMs ?? (upload ? undefined : this.attemptTimeoutMs);
    if (perAttempt !== undefined) signals.push(AbortSignal.timeout(perAttempt));
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent, ...opts.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: Readable | string | undefined;
    if (opts.body && 'stream' in opts.body) {
      body = opts.body.stream();
      headers['content-type'] = opts.body.contentType;
      headers['content-length'] = String(opts.body.length);
    } else if (opts.body) {
      body = JSON.stringify(opts.body.json);
      headers['content-type'] = 'application/json';
    }
    try {
      const res = await request(url, {
        method: method,
        headers,
        body,
        signal: AbortSignal.any(signals),
        dispatcher: this.dispatcher,
        // While uploading, this is an idle timer (undici refreshes it on every write).
        headersTimeout: upload ? this.stallTimeoutMs : perAttempt,
        bodyTimeout: upload ? this.stallTimeoutMs : perAttempt,
      });
      if (opts.sink && res.statusCode >= 200 && res.statusCode < 300) {
        await opts.sink(res.body, res.headers);
        return {
          kind: 'answer',
          answer: { status: res.statusCode, headers: res.headers, json: undefined, requestId: requestIdOf(res.headers['x-request-id']) },
        };
      }
      return { kind: 'answer', answer: await toAnswer(res) };
    } catch (error) {
      if (body instanceof Readable) body.destroy();
      return { kind: 'error', error };
    }
  }

  private timeout(ms: number, what: string): NetworkError {
    return new NetworkError(`timed out after ${seconds(ms)} trying to ${what} at ${this.baseUrl}`, {
      hint: 'the marketplace did not answer in time: try again, or allow more time with --timeout',
      code: 'TIMEOUT',
    });
  }

  private unreachable(code: string, cause: unknown): NetworkError {
    const via = this.proxy ? ` through the proxy ${redact(this.proxy)}` : '';
    return new NetworkError(`cannot reach marketplace at ${this.baseUrl}${via} (${code})`, {
      hint: this.proxy
        ? 'check the proxy (HTTPS_PROXY/HTTP_PROXY), NO_PROXY, and the marketplace URL'
        : 'check the URL (--marketplace or PLEXICHAT_MARKETPLACE_URL) and that the server is running',
      code: 'UNREACHABLE',
      cause,
    });
  }
}

/** A response as an Answer: its JSON body, or an `__unexpected` record of what came instead. */
async function toAnswer(res: Dispatcher.ResponseData): Promise<Answer> {
  const requestId = requestIdOf(res.headers['x-request-id']);
  const ct = headerString(res.headers['content-type']) ?? '';
  const { text, truncated } = await readBody(res.body, MAX_JSON_BYTES);
  let json: unknown;
  if (/\bjson\b/i.test(ct) && !truncated) {
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (json === undefined && !(res.statusCode === 204)) {
    // Not JSON: a proxy page, an HTML error, garbage. Never a success.
    return {
      status: res.statusCode,
      headers: res.headers,
      // A one-line excerpt for the message; up to 2 KB (redacted) for --json/--verbose.
      json: { __unexpected: true, contentType: ct || 'none', excerpt: excerpt(text), body: redact(text.slice(0, 2048)), truncated },
      requestId,
    };
  }
  const bodyRequestId = isObject(json) ? json.request_id : undefined;
  return {
    status: res.statusCode,
    headers: res.headers,
    json,
    requestId: requestId ?? requestIdOf(bodyRequestId),
  };
}

/** A request id as the server sent it (header or body), redacted: a hostile server may echo the token in it. */
function requestIdOf(value: unknown): string | undefined {
  const s = typeof value === 'string' ? value : Array.isArray(value) ? headerString(value) : undefined;
  return s === undefined ? undefined : redact(s);
}

/** Read a response body, at most `limit` bytes; the rest is discarded. */
async function readBody(body: Dispatcher.ResponseData['body'], limit: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    if (size + b.length > limit) {
      chunks.push(b.subarray(0, limit - size));
      size = limit;
      truncated = true;
      body.destroy();
      break;
    }
    chunks.push(b);
    size += b.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}

function errCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_CONNECT') return code;
    if (typeof code === 'string' && !(e as { cause?: unknown }).cause) return code;
    e = (e as { cause?: unknown }).cause;
  }
  if (typeof (err as { code?: unknown })?.code === 'string') return (err as { code: string }).code;
  // AbortSignal.timeout() rejects with a DOMException named TimeoutError.
  const name = (err as { name?: unknown })?.name;
  return name === 'TimeoutError' ? 'TimeoutError' : undefined;
}

/** The proxy a request to `target` goes through, naming it in messages; undefined when none or NO_PROXY excludes it. */
function proxyFor(target: URL, httpProxy: string, httpsProxy: string, noProxy: string): string | undefined {
  const proxy = target.protocol === 'https:' ? httpsProxy || httpProxy : httpProxy;
  return proxy && !excludedByNoProxy(target, noProxy) ? proxy : undefined;
}

/** Whether NO_PROXY names this host (exact, a parent domain, or `*`), as undici decides. */
function excludedByNoProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[,\s]+/)
    .filter(Boolean)
    .some((raw) => {
      if (raw === '*') return true;
      const m = /^(.*?)(?::(\d+))?$/.exec(raw.toLowerCase().replace(/^\*?\./, '.'))!;
      const name = m[1].replace(/^\[|\]$/g, '').replace(/^\./, '');
      if (m[2] && m[2] !== port) return false;
      return host === name || host.endsWith(`.${name}`);
    });
}

/** Plain words for the network failures people meet. */
function describeNetworkError(code: string | undefined): string {
  switch (code) {
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return 'the connection was closed before the answer arrived';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'TimeoutError':
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'the marketplace stopped responding';
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'the archive changed while it was being sent';
    default:
      return 'network error';
  }
}
