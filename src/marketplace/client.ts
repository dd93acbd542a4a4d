/**
 * The marketplace HTTP client (docs/marketplace-api.md).
 *
 * - undici `request` over an EnvHttpProxyAgent built from the caller's env,
 *   so HTTPS_PROXY / HTTP_PROXY / NO_PROXY apply to every request.
 * - Uploads stream from disk: a fresh multipart body (built around
 *   fs.createReadStream) for every attempt, never fetch (Node 20's fetch
 *   buffers a streamed body).
 * - The token only ever goes in `Authorization`; redirects are not followed.
 * - Every attempt has its own timeout and the whole call an overall deadline.
 * - Network errors, 5xx and 429 are retried with capped exponential backoff
 *   and full jitter, honouring Retry-After; 4xx never. A submission is
 *   retried only with the same Idempotency-Key, so a retry after a lost
 *   answer finds the first submission instead of making a second one.
 * - Every server error names the HTTP status, the server's message and its
 *   request id; anything unexpected (HTML, invalid JSON, an unknown state)
 *   is a NetworkError with a short, redacted excerpt.
 *
 * Time is injected (clock.now/sleep, AbortSignal), so tests run the retry
 * and polling loops with 1 ms intervals.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import './wasm-tiering.js';
import { EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import type { Clock } from '../context.js';
import { AuthError, CancelledError, CliError, NetworkError, WorkFailedError } from '../errors.js';
import { redact } from '../io/redact.js';
import { backoffDelay, DEFAULT_BACKOFF, isRetryableStatus, parseRetryAfter, type BackoffPolicy } from './retry.js';
import { archiveFileName } from '../core/plugin-name.js';
import { formatBytes } from '../io/bytes.js';

export const API_PREFIX = '/api/v1';

export const SUBMISSION_STATES = ['pending', 'in_review', 'approved', 'rejected', 'published'] as const;
export type SubmissionState = (typeof SUBMISSION_STATES)[number];
export const FINAL_STATES: readonly SubmissionState[] = ['approved', 'rejected', 'published'];

export interface Submission {
  id: string;
  plugin: string;
  version: string;
  state: SubmissionState;
  sha256?: string;
  size?: number;
  notes?: string | null;
  channel?: string | null;
  owner?: string;
  reviewer?: string | null;
  created_at?: string;
  updated_at?: string;
  published_at?: string | null;
  [key: string]: unknown;
}

export interface Me {
  /** Stable id of the token's holder, e.g. dev-3f9a1c2e. */
  user: string;
  role: string;
  [key: string]: unknown;
}

export interface PluginVersion {
  version: string;
  channel?: string;
  sha256?: string;
  size?: number;
  published_at?: string;
  [key: string]: unknown;
}

export interface PluginInfo {
  name: string;
  owner?: string;
  versions: PluginVersion[];
  [key: string]: unknown;
}

export interface SubmitResult {
  submission: Submission;
  /** True when the marketplace already had this exact archive (same name, version, sha256). */
  existing: boolean;
  attempts: number;
}

export interface ClientOptions {
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
  /** Overall deadline for an ordinary request including retries, ms. */
  requestDeadlineMs?: number;
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

type RetryMode =
  /** Safe to repeat: GETs, and POSTs carrying an Idempotency-Key. */
  | 'idempotent'
  /** Repeat only when the server said it did nothing (429, 503). */
  | 'refused-only';

interface Body {
  stream: () => Readable;
  length: number;
  contentType: string;
}

interface CallOptions {
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
  /** Called before a retryable answer is retried; may throw to stop. */
  beforeRetry?: (a: Answer) => Promise<void>;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
  requestId?: string;
}

const MAX_JSON_BYTES = 4 * 1024 * 1024;
const EXCERPT_CHARS = 300;

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

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function excerpt(text: string): string {
  const one = redact(text).replace(/\s+/g, ' ').trim();
  return one.length > EXCERPT_CHARS ? `${one.slice(0, EXCERPT_CHARS)}…` : one;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
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

/** A multipart/form-data body: small fields in memory, the file streamed from disk. */
export function multipartBody(
  fields: { name: string; value: string; contentType?: string }[],
  file: { name: string; filename: string; path: string; size: number; contentType?: string },
  onBytes?: (n: number) => void,
): Body {
  const boundary = `----plexichat-${randomUUID()}`;
  const parts: Buffer[] = fields.map((f) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"\r\n` +
        (f.contentType ? `Content-Type: ${f.contentType}\r\n` : '') +
        `\r\n${f.value}\r\n`,
      'utf8',
    ),
  );
  const fileHead = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename.replace(/"/g, '')}"\r\n` +
      `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
    'utf8',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  const head = Buffer.concat([...parts, fileHead]);
  const length = head.length + file.size + tail.length;
  return {
    length,
    contentType: `multipart/form-data; boundary=${boundary}`,
    stream: () =>
      Readable.from(
        (async function* () {
          yield head;
          onBytes?.(head.length);
          // highWaterMark 256 KiB: fewer, larger writes; memory stays flat.
          for await (const chunk of createReadStream(file.path, { highWaterMark: 256 * 1024 })) {
            yield chunk as Buffer;
            onBytes?.((chunk as Buffer).length);
          }
          yield tail;
          onBytes?.(tail.length);
        })(),
        { objectMode: false },
      ),
  };
}

export class MarketplaceClient {
  readonly baseUrl: string;
  private readonly token?: string;
  private readonly clock: Clock;
  private readonly signal?: AbortSignal;
  private readonly backoff: BackoffPolicy;
  private readonly attemptTimeoutMs: number;
  private readonly requestDeadlineMs: number;
  private readonly stallTimeoutMs: number;
  private readonly random: () => number;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
  private readonly debug: (line: string) => void;
  private readonly onRetry?: (info: RetryInfo) => void;
  private readonly userAgent: string;
  /** The proxy the base URL goes through, if one is configured and NO_PROXY does not exclude it (for messages). */
  private readonly proxy?: string;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.clock = opts.clock;
    this.signal = opts.signal;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 30_000;
    this.requestDeadlineMs = opts.requestDeadlineMs ?? 120_000;
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
      const target = new URL(this.baseUrl);
      const proxy = target.protocol === 'https:' ? httpsProxy || httpProxy : httpProxy;
      if (proxy && !excludedByNoProxy(target, noProxy)) this.proxy = proxy;
      this.ownDispatcher = true;
    }
  }

  async close(): Promise<void> {
    if (this.ownDispatcher) await this.dispatcher.close().catch(() => undefined);
  }

  // ---- API ---------------------------------------------------------------

  async me(): Promise<Me> {
    const a = await this.call('GET', '/me', { retry: 'idempotent', deadlineMs: this.requestDeadlineMs, what: 'check the token' });
    return this.expectMe(a);
  }

  async getSubmission(id: string, deadlineMs = this.requestDeadlineMs): Promise<Submission> {
    const a = await this.call('GET', `/submissions/${encodeURIComponent(id)}`, {
      retry: 'idempotent',
      deadlineMs,
      what: `read submission ${id}`,
    });
    return this.expectSubmission(a, a.json);
  }

  async listSubmissions(name: string): Promise<Submission[]> {
    const a = await this.call('GET', `/plugins/${encodeURIComponent(name)}/submissions`, {
      retry: 'idempotent',
      deadlineMs: this.requestDeadlineMs,
      what: `list the submissions of ${name}`,
    });
    const list = pick(a.json, 'submissions');
    if (!Array.isArray(list)) throw this.unexpected(a, 'no submissions list');
    return list.map((s) => this.expectSubmission(a, s));
  }

  async review(id: string, decision: 'approve' | 'reject', notes: string | undefined): Promise<Submission> {
    const a = await this.call('POST', `/submissions/${encodeURIComponent(id)}/review`, {
      body: { json: { decision, notes: notes ?? '' } },
      retry: 'refused-only',
      deadlineMs: this.requestDeadlineMs,
      what: `review submission ${id}`,
    });
    return this.expectSubmission(a, a.json);
  }

  async publish(id: string, channel: 'stable' | 'beta'): Promise<Submission> {
    const a = await this.call('POST', `/submissions/${encodeURIComponent(id)}/publish`, {
      body: { json: { channel } },
      retry: 'refused-only',
      deadlineMs: this.requestDeadlineMs,
      what: `publish submission ${id}`,
    });
    return this.expectSubmission(a, a.json);
  }

  async plugin(name: string): Promise<PluginInfo> {
    const a = await this.call('GET', `/plugins/${encodeURIComponent(name)}`, {
      retry: 'idempotent',
      deadlineMs: this.requestDeadlineMs,
      what: `read plugin ${name}`,
    });
    const p = a.json;
    if (!isObject(p) || typeof p.name !== 'string' || !Array.isArray(p.versions)) throw this.unexpected(a, 'no plugin');
    for (const v of p.versions) {
      if (!isObject(v) || typeof v.version !== 'string') throw this.unexpected(a, 'bad version entry');
    }
    return p as PluginInfo;
  }

  /**
   * Upload an archive and its listing. One Idempotency-Key for every attempt;
   * a fresh body stream per attempt. The whole call ends by `timeoutMs`.
   */
  async submit(opts: {
    name: string;
    version: string;
    archivePath: string;
    archiveSize: number;
    sha256: string;
    listing: unknown;
    timeoutMs: number;
    idempotencyKey?: string;
    onProgress?: (sent: number, total: number, attempt: number) => void;
    /** Hash the archive again (after the marketplace said the digest does not match). */
    rehash?: () => Promise<string>;
  }): Promise<SubmitResult> {
    const key = opts.idempotencyKey ?? randomUUID();
    let sent = 0;
    let attempt = 0;
    const body = multipartBody(
      [{ name: 'listing', value: JSON.stringify(opts.listing), contentType: 'application/json' }],
      {
        name: 'archive',
        filename: archiveFileName(opts.name, opts.version),
        path: opts.archivePath,
        size: opts.archiveSize,
        contentType: 'application/zip',
      },
      (n) => {
        sent += n;
        opts.onProgress?.(sent, body.length, attempt);
      },
    );
    const a = await this.call('POST', `/plugins/${encodeURIComponent(opts.name)}/submissions`, {
      body,
      headers: { 'idempotency-key': key, 'x-content-sha256': opts.sha256 },
      retry: 'idempotent',
      deadlineMs: opts.timeoutMs,
      what: 'upload the archive',
      beforeRetry: async (a) => {
        // A digest the file no longer has (it changed after it was hashed) fails every retry: stop.
        if (a.status === 400 && serverCode(a) === 'DIGEST_MISMATCH' && opts.rehash && (await opts.rehash()) !== opts.sha256) {
          throw new WorkFailedError(`${opts.archivePath} changed after its sha256 was taken; nothing was stored`, {
            code: 'ARCHIVE_CHANGED',
            hint: 'run `plexichat-plugin build` again, then submit',
          });
        }
      },
      onAttempt: (n) => {
        attempt = n;
        sent = 0;
        opts.onProgress?.(0, body.length, n);
      },
    });
    const submission = this.expectSubmission(a, a.json);
    const existing = isObject(a.json) && a.json.existing === true;
    return { submission, existing, attempts: attempt };
  }

  /**
   * Poll a submission until it reaches a final state (approved, rejected,
   * published) or `timeoutMs` passes. Backoff between polls doubles from
   * `intervalMs` up to `maxIntervalMs`. Returns the last state seen and
   * whether it timed out; errors other than timeouts propagate.
   */
  async waitForFinal(
    id: string,
    opts: { timeoutMs: number; intervalMs?: number; maxIntervalMs?: number; onPoll?: (s: Submission) => void },
  ): Promise<{ submission: Submission; timedOut: boolean }> {
    const start = this.clock.now();
    const deadline = start + opts.timeoutMs;
    let interval = opts.intervalMs ?? 1000;
    const maxInterval = opts.maxIntervalMs ?? 15_000;
    let last: Submission | undefined;
    for (;;) {
      // Each poll ends with the wait; the last one (at the deadline) still gets a second to answer.
      const left0 = Math.max(1000, deadline - this.clock.now());
      try {
        last = await this.getSubmission(id, Math.min(this.requestDeadlineMs, left0));
      } catch (err) {
        // The poll itself ran out of the wait's time: that is the wait timing out.
        if (last && err instanceof CliError && err.code === 'TIMEOUT' && this.clock.now() >= deadline) {
          return { submission: last, timedOut: true };
        }
        throw err;
      }
      opts.onPoll?.(last);
      if (FINAL_STATES.includes(last.state)) return { submission: last, timedOut: false };
      const left = deadline - this.clock.now();
      if (left <= 0) return { submission: last, timedOut: true };
      await this.sleep(Math.min(interval, left));
      interval = Math.min(maxInterval, interval * 2);
    }
  }

  // ---- machinery -----------------------------------------------------------

  private async sleep(ms: number): Promise<void> {
    try {
      await this.clock.sleep(ms, this.signal);
    } catch {
      throw new CancelledError();
    }
  }

  private url(p: string): string {
    return `${this.baseUrl}${API_PREFIX}${p}`;
  }

  private async call(method: 'GET' | 'POST' | 'DELETE', p: string, opts: CallOptions): Promise<Answer> {
    const url = this.url(p);
    const start = this.clock.now();
    const deadlineAt = start + opts.deadlineMs;
    // The overall deadline, on real time, so a hung attempt is cut off.
    const overall = new AbortController();
    const overallTimer = setTimeout(() => overall.abort(new Error('deadline')), opts.deadlineMs);
    overallTimer.unref?.();
    try {
      for (let attempt = 1; ; attempt++) {
        opts.onAttempt?.(attempt);
        const outcome = await this.attempt(method, url, opts, overall.signal);
        let retryAfterMs: number | undefined;
        let failure: CliError;
        let reason: string;
        if (outcome.kind === 'answer') {
          const a = outcome.answer;
          if ((a.status >= 200 && a.status < 300) || opts.accept?.includes(a.status)) return a;
          failure = this.httpError(a, opts.what);
          const code = serverCode(a);
          const retryable =
            opts.retry === 'idempotent'
              ? isRetryableStatus(a.status) ||
                (a.status === 409 && code === 'IDEMPOTENCY_IN_FLIGHT') ||
                // The body was damaged on the way; the key makes a second try safe.
                (a.status === 400 && code === 'DIGEST_MISMATCH')
              : a.status === 429 || a.status === 503;
          if (!retryable) throw failure;
          await opts.beforeRetry?.(a);
          retryAfterMs = parseRetryAfter(a.headers['retry-after'], Date.now());
          reason = `HTTP ${a.status}${code ? ` ${code}` : ''}${a.requestId ? ` (request id ${a.requestId})` : ''}`;
          this.debug(`${method} ${p}: ${reason} on attempt ${attempt}`);
        } else {
          const err = outcome.error;
          if (this.signal?.aborted) throw new CancelledError();
          if (overall.signal.aborted || this.clock.now() >= deadlineAt) throw this.timeout(opts.deadlineMs, opts.what);
          const code = errCode(err);
          if (code && UNREACHABLE.has(code)) throw this.unreachable(code, err);
          if (code && TLS_TRUST.has(code)) {
            throw new NetworkError(`cannot verify the TLS certificate of ${new URL(this.baseUrl).host} (${code})`, {
              hint: 'if your network uses its own certificate authority, point NODE_EXTRA_CA_CERTS at its certificate (PEM) file',
              code: 'TLS_UNTRUSTED',
              cause: err,
            });
          }
          failure = new NetworkError(
            `could not ${opts.what}: ${describeNetworkError(code)} (${code ?? 'network error'}) talking to ${this.baseUrl}`,
            { hint: 'check your network (and HTTPS_PROXY/NO_PROXY), then run the command again', code: 'NETWORK', cause: err },
          );
          // Without an idempotency key a POST that may have reached the server is not repeated.
          if (opts.retry !== 'idempotent') throw failure;
          reason = `${describeNetworkError(code)} (${code ?? 'network error'})`;
          this.debug(`${method} ${p}: ${redact(String((err as Error)?.message ?? err))} (${reason}) on attempt ${attempt}`);
        }
        if (attempt >= this.backoff.maxAttempts) throw withSuffix(failure, ` (gave up after ${attempt} attempts)`);
        let delay = backoffDelay(attempt, this.backoff, this.random);
        if (retryAfterMs !== undefined) delay = Math.max(delay, retryAfterMs);
        const left = deadlineAt - this.clock.now();
        if (delay >= left) {
          if (retryAfterMs !== undefined && retryAfterMs >= left) {
            throw new NetworkError(
              `the marketplace asked to retry after ${seconds(retryAfterMs)}, beyond the ${seconds(opts.deadlineMs)} time limit (${failure.message})`,
              { hint: 'try again later, or allow more time with --timeout', code: 'RETRY_AFTER_TOO_LONG' },
            );
          }
          throw this.timeout(opts.deadlineMs, opts.what);
        }
        this.onRetry?.({ what: opts.what, attempt, maxAttempts: this.backoff.maxAttempts, delayMs: delay, reason });
        await this.sleep(delay);
      }
    } finally {
      clearTimeout(overallTimer);
    }
  }

  private async attempt(
    method: string,
    url: string,
    opts: CallOptions,
    overall: AbortSignal,
  ): Promise<{ kind: 'answer'; answer: Answer } | { kind: 'error'; error: unknown }> {
    const signals = [overall];
    if (this.signal) signals.push(this.signal);
    const upload = opts.body && 'stream' in opts.body;
    const perAttempt = opts.attemptTimeoutMs ?? (upload ? undefined : this.attemptTimeoutMs);
    if (perAttempt !== undefined) signals.push(AbortSignal.timeout(perAttempt));
    const signal = AbortSignal.any(signals);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
      ...opts.headers,
    };
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
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        signal,
        dispatcher: this.dispatcher,
        // While uploading, this is an idle timer (undici refreshes it on every write).
        headersTimeout: upload ? this.stallTimeoutMs : perAttempt,
        bodyTimeout: upload ? this.stallTimeoutMs : perAttempt,
      });
      const requestId = headerString(res.headers['x-request-id']);
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
          kind: 'answer',
          answer: {
            status: res.statusCode,
            headers: res.headers,
            // A one-line excerpt for the message; up to 2 KB (redacted) for --json/--verbose.
            json: { __unexpected: true, contentType: ct || 'none', excerpt: excerpt(text), body: redact(text.slice(0, 2048)), truncated },
            requestId,
          },
        };
      }
      const bodyRequestId = isObject(json) ? json.request_id : undefined;
      return {
        kind: 'answer',
        answer: {
          status: res.statusCode,
          headers: res.headers,
          json,
          requestId: requestId ?? (typeof bodyRequestId === 'string' ? bodyRequestId : undefined),
        },
      };
    } catch (error) {
      if (body instanceof Readable) body.destroy();
      return { kind: 'error', error };
    }
  }

  // ---- errors --------------------------------------------------------------

  private serverWords(a: Answer): { code?: string; message: string; error?: Record<string, unknown> } {
    const j = a.json;
    if (isObject(j) && j.__unexpected) {
      return { message: `unexpected response (content-type ${String(j.contentType)}): ${String(j.excerpt) || '(empty body)'}` };
    }
    if (isObject(j) && isObject(j.error) && typeof j.error.message === 'string') {
      return { code: serverCode(a), message: redact(j.error.message).replace(/\s+/g, ' '), error: j.error };
    }
    return { message: `unexpected response: ${excerpt(JSON.stringify(j) ?? '')}` };
  }

  /**
   * One line that names the status, the server's code and message and the
   * request id, plus a hint that says what to do, and the right exit code.
   */
  private httpError(a: Answer, what: string): CliError {
    const { code, message, error } = this.serverWords(a);
    const rid = a.requestId ? ` (request id ${a.requestId})` : '';
    let extra = '';
    const findings = error && Array.isArray(error.findings) ? (error.findings as unknown[]) : [];
    // Findings the server's message does not already say, at most five.
    const fresh = findings
      .map((f) => (isObject(f) ? { entry: typeof f.entry === 'string' ? f.entry : undefined, text: String(f.message ?? f.code ?? '') } : { text: String(f) }))
      .filter((f) => f.text && !message.includes(f.text));
    if (fresh.length > 0) {
      const shown = fresh.slice(0, 5).map((f) => redact(f.entry && !f.text.includes(f.entry) ? `${f.entry}: ${f.text}` : f.text));
      extra = `; ${shown.join('; ')}${fresh.length > 5 ? `; and ${fresh.length - 5} more` : ''}`;
    }
    if (a.status === 413 && error && typeof error.limit_bytes === 'number' && !/\d/.test(message)) {
      extra += ` (the limit is ${formatBytes(error.limit_bytes)})`;
    }
    const text = `could not ${what}: HTTP ${a.status}${code ? ` ${code}` : ''}: ${message}${extra}${rid}`;
    const details = {
      status: a.status,
      serverCode: code,
      requestId: a.requestId,
      ...(isObject(a.json) && a.json.__unexpected ? { body: a.json.body } : {}),
      ...(findings.length ? { findings } : {}),
      ...(error && typeof error.limit_bytes === 'number' ? { limitBytes: error.limit_bytes } : {}),
      ...(error && typeof error.state === 'string' ? { state: error.state } : {}),
      ...(error && typeof error.submission_id === 'string' ? { submissionId: error.submission_id } : {}),
    };
    const unexpected = isObject(a.json) && a.json.__unexpected === true;
    if (a.status === 401) {
      return new AuthError(text, {
        hint: 'the token is invalid, expired or revoked: run `plexichat-plugin marketplace login` again or set PLEXICHAT_TOKEN',
        code: 'UNAUTHORIZED',
        details,
      });
    }
    if (a.status === 403) {
      return new AuthError(text, { hint: forbiddenHint(code, message), code: code ?? 'FORBIDDEN', details });
    }
    if (a.status === 409) {
      const hint =
        code === 'VERSION_EXISTS'
          ? 'a version is never replaced: bump plugin.version in config/plugin.yaml, add a CHANGELOG entry, rebuild and submit'
          : code === 'NOT_APPROVED'
            ? 'only an approved submission can be published: check it with `plexichat-plugin marketplace status`'
            : 'check the submission with `plexichat-plugin marketplace status`';
      return new WorkFailedError(text, { code: code ?? 'CONFLICT', details, hint });
    }
    if (a.status === 413) {
      return new WorkFailedError(text, {
        code: 'TOO_LARGE',
        details,
        hint: 'make the archive smaller (check .pluginignore and `plexichat-plugin build --dry-run`)',
      });
    }
    if (a.status === 422) {
      return new WorkFailedError(text, {
        code: code ?? 'INVALID',
        details,
        hint:
          code === 'LISTING_MISMATCH' || code === 'INVALID_LISTING'
            ? 'run `plexichat-plugin marketplace prepare` again after `build`, then submit'
            : 'fix what the marketplace names, rebuild and submit again (`plexichat-plugin verify <archive>` runs the same checks)',
      });
    }
    if (a.status === 404) return new WorkFailedError(text, { code: code ?? 'NOT_FOUND', details, hint: 'check the plugin name or submission id' });
    if (unexpected || a.status < 400 || a.status >= 500 || a.status === 429) {
      return new NetworkError(text, {
        code: unexpected ? 'UNEXPECTED_RESPONSE' : a.status === 429 ? 'RATE_LIMITED' : 'SERVER_ERROR',
        details,
        hint:
          a.status >= 300 && a.status < 400
            ? `the marketplace answered with a redirect to ${headerString(a.headers.location) ?? '?'}; use that URL with --marketplace`
            : unexpected
              ? `check that ${this.baseUrl} is a PlexiChat marketplace (API ${API_PREFIX}) and your proxy settings`
              : 'the marketplace is having trouble: try again later',
      });
    }
    return new WorkFailedError(text, {
      code: code ?? 'REQUEST_FAILED',
      details,
      hint: 'the marketplace refused the request; run with --verbose for details',
    });
  }

  /** A 2xx whose body is not what the contract says. */
  private unexpected(a: Answer, why: string): NetworkError {
    const j = a.json;
    const rid = a.requestId ? `, request id ${a.requestId}` : '';
    const text =
      isObject(j) && j.__unexpected
        ? `unexpected response from the marketplace (HTTP ${a.status}, content-type ${String(j.contentType)}${rid}): ${String(j.excerpt) || '(empty body)'}`
        : `unexpected response from the marketplace (HTTP ${a.status}, ${why}${rid}): ${excerpt(JSON.stringify(j) ?? '(empty body)')}`;
    return new NetworkError(text, {
      hint: `check that ${this.baseUrl} is a PlexiChat marketplace (API ${API_PREFIX}) and your proxy settings`,
      code: 'UNEXPECTED_RESPONSE',
      details: {
        status: a.status,
        requestId: a.requestId,
        body: isObject(j) && j.__unexpected ? j.body : redact((JSON.stringify(j) ?? '').slice(0, 2048)),
      },
    });
  }

  private expectSubmission(a: Answer, s: unknown): Submission {
    if (!isObject(s) || (typeof s.id !== 'string' && typeof s.id !== 'number')) throw this.unexpected(a, 'no submission id');
    if (typeof s.state !== 'string' || !(SUBMISSION_STATES as readonly string[]).includes(s.state)) {
      throw this.unexpected(a, `unknown submission state ${JSON.stringify(s.state)}`);
    }
    return { ...s, id: String(s.id) } as Submission;
  }

  private expectMe(a: Answer): Me {
    const me = a.json;
    if (!isObject(me) || typeof me.user !== 'string' || typeof me.role !== 'string') throw this.unexpected(a, 'no user');
    return me as Me;
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

function forbiddenHint(code: string | undefined, message: string): string {
  if (code === 'NOT_OWNER') {
    return 'this plugin belongs to another developer: use their token, or choose another plugin.name in config/plugin.yaml';
  }
  if (code === 'FORBIDDEN_ROLE') {
    return /review/i.test(message)
      ? 'reviewing needs a reviewer token (PLEXICHAT_TOKEN or `marketplace login` with one)'
      : 'submitting and publishing need a developer token; reviewer tokens can only review';
  }
  return 'your token is valid but not allowed to do this';
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
      const name = m[1]!.replace(/^\[|\]$/g, '').replace(/^\./, '');
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

/** The same error with more words at the end of its message. */
function withSuffix(e: CliError, suffix: string): CliError {
  const opts = { hint: e.hint, code: e.code, details: e.details, cause: e.cause };
  if (e instanceof NetworkError) return new NetworkError(`${e.message}${suffix}`, opts);
  if (e instanceof WorkFailedError) return new WorkFailedError(`${e.message}${suffix}`, opts);
  if (e instanceof AuthError) return new AuthError(`${e.message}${suffix}`, opts);
  return e;
}

function serverCode(a: Answer): string | undefined {
  const j = a.json;
  return isObject(j) && isObject(j.error) && typeof j.error.code === 'string' ? j.error.code : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pick(json: unknown, key: string): unknown {
  return isObject(json) ? json[key] : undefined;
}

