/**
 * The marketplace client (docs/marketplace-api.md): one method per API
 * call, and the checks that an answer is what the contract says (a
 * submission with an id and a known state, a user with a role, a plugin
 * with versions). Anything else is a NetworkError with a short, redacted
 * excerpt.
 *
 * Its neighbours:
 * - transport.ts: attempts, retries, deadlines, TLS and proxy naming;
 * - http-errors.ts: an HTTP status and the server's words as a CliError;
 * - multipart.ts: the streamed upload body;
 * - answer.ts: the Answer type and the readers they share.
 *
 * Uploads stream from disk with a fresh body for every attempt, and are
 * retried only with the same Idempotency-Key, so a retry after a lost
 * answer finds the first submission instead of making a second one.
 * Time is injected (clock.now/sleep, AbortSignal), so tests run the retry
 * and polling loops with 1 ms intervals.
 */
import { randomUUID } from 'node:crypto';
import { CliError, WorkFailedError } from '../errors.js';
import { archiveFileName } from '../core/plugin-name.js';
import { isRole, ROLES, type Role } from '../core/roles.js';
import { isObject, pick, serverCode, type Answer } from './answer.js';
import { unexpectedResponse } from './http-errors.js';
import { multipartBody } from './multipart.js';
import { parseKeyRecord, type KeyRecord } from '../signing/keyring.js';
import { expectedPluginProblem } from '../signing/verify.js';
import { Transport, type TransportOptions } from './transport.js';

export type { RetryInfo } from './transport.js';

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
  role: Role;
  [key: string]: unknown;
}

export interface PluginVersion {
  version: string;
  channel?: string;
  sha256?: string;
  size?: number;
  published_at?: string;
  /** A version built with --split-platforms: one archive per platform (core/package/wheels.ts variantOf). */
  variants?: { platform: string; sha256: string; size: number; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** `?platform=<tag>` for a version's routes when a platform variant is asked for. */
function platformQuery(platform: string | undefined): string {
  return platform ? `?platform=${encodeURIComponent(platform)}` : '';
}

export interface PluginInfo {
  name: string;
  owner?: string;
  versions: PluginVersion[];
  [key: string]: unknown;
}

/** A marketplace that stopped answering during a wait: since when (clock ms), and how. */
export interface Outage {
  sinceMs: number;
  error: CliError;
}

/** A failure a marketplace restart causes: nothing answers, the connection drops, or a proxy says the server is away. */
function isOutage(err: unknown): err is CliError {
  if (!(err instanceof CliError)) return false;
  if (err.code === 'UNREACHABLE' || err.code === 'NETWORK') return true;
  const status = err.details?.status;
  return err.code === 'SERVER_ERROR' && (status === 502 || status === 503 || status === 504);
}

export interface SubmitResult {
  submission: Submission;
  /** True when the marketplace already had this exact archive (same name, version, sha256). */
  existing: boolean;
  attempts: number;
}
/** A published version's signatures as the marketplace serves them (documents unchecked). */
export interface VersionSignatures {
  publisher: unknown;
  publisherKey: KeyRecord | null;
  marketplace: unknown;
  /** The SBOM's and provenance's digests, the provenance signer's key and the marketplace's counter-signature of them; null when none came with the version (unchecked). */
  attestations: unknown;
}

/** An answer that is a record plus `existing` (POST /submissions, POST /me/keys), taken apart: the record alone is what was made or found. */
function splitExisting(json: unknown): { record: unknown; existing: boolean } {
  if (!isObject(json)) return { record: json, existing: false };
  const { existing, ...record } = json;
  return { record, existing: existing === true };
}

export interface ClientOptions extends TransportOptions {
  /** Overall deadline for an ordinary request including retries, ms. */
  requestDeadlineMs?: number;
}

export class MarketplaceClient {
  readonly baseUrl: string;
  private readonly transport: Transport;
  private readonly requestDeadlineMs: number;

  constructor(opts: ClientOptions) {
    this.transport = new Transport(opts);
    this.baseUrl = this.transport.baseUrl;
    this.requestDeadlineMs = opts.requestDeadlineMs ?? 120_000;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  // ---- API ---------------------------------------------------------------

  async me(): Promise<Me> {
    const a = await this.transport.call('GET', '/me', { retry: 'idempotent', deadlineMs: this.requestDeadlineMs, what: 'check the token' });
    return this.expectMe(a);
  }

  async getSubmission(id: string, deadlineMs = this.requestDeadlineMs): Promise<Submission> {
    const a = await this.transport.call('GET', `/submissions/${encodeURIComponent(id)}`, {
      retry: 'idempotent',
      deadlineMs,
      what: `read submission ${id}`,
    });
    return this.expectSubmission(a, a.json);
  }

  async listSubmissions(name: string): Promise<Submission[]> {
    const a = await this.transport.call('GET', `/plugins/${encodeURIComponent(name)}/submissions`, {
      retry: 'idempotent',
      deadlineMs: this.requestDeadlineMs,
      what: `list the submissions of ${name}`,
    });
    const list = pick(a.json, 'submissions');
    if (!Array.isArray(list)) throw this.unexpected(a, 'no submissions list');
    return list.map((s) => this.expectSubmission(a, s));
  }

  async review(id: string, decision: 'approve' | 'reject', notes: string | undefined): Promise<Submission> {
    const a = await this.transport.call('POST', `/submissions/${encodeURIComponent(id)}/review`, {
      body: { json: { decision, notes: notes ?? '' } },
      retry: 'refused-only',
      deadlineMs: this.requestDeadlineMs,
      what: `review submission ${id}`,
    });
    return this.expectSubmission(a, a.json);
  }

  async publish(id: string, channel: 'stable' | 'beta'): Promise<Submission> {
    const a = await this.transport.call('POST', `/submissions/${encodeURIComponent(id)}/publish`, {
      body: { json: { channel } },
      retry: 'refused-only',
      deadlineMs: this.requestDeadlineMs,
      what: `publish submission ${id}`,
    });
    return this.expectSubmission(a, a.json);
  }

  async plugin(name: string): Promise<PluginInfo> {
    const a = await this.transport.call('GET', `/plugins/${encodeURIComponent(name)}`, {
      retry: 'idempotent',
      deadlineMs: this.requestDeadlineMs,
      what: `read plugin ${name}`,
    });
    const p = this.expectPlugin(a);
    // A listing of another plugin is not this plugin's: its versions and owner are not shown or used.
    const wrong = expectedPluginProblem({ name }, { name: p.name }, "the marketplace's listing");
    if (wrong) throw new WorkFailedError(`refusing the listing of ${name}: ${wrong.message}`, { code: wrong.code, hint: wrong.hint, details: wrong.details });
    return p;
  }

  // ---- signing keys and signatures (docs/signing.md) ---------------------

  /** GET /keys: the marketplace's own keys. */
  async marketplaceKeys(): Promise<KeyRecord[]> {
    const a = await this.transport.call('GET', '/keys', { retry: 'idempotent', deadlineMs: this.requestDeadlineMs, what: "read the marketplace's keys" });
    return this.expectKeys(a);
  }

  /** POST /me/keys: register a publisher key, with the proof that the caller holds its private key (signing/key-proof.ts). */
  async addKey(publicKey: string, expiresAt: string | null, proof: string): Promise<{ key: KeyRecord; existing: boolean }> {
    const a = await this.transport.call('POST', '/me/keys', {
      body: { json: { public_key: publicKey, expires_at: expiresAt, proof } },
      retry: 'refused-only',
      deadlineMs: this.requestDeadlineMs,
      what: 'register the key',
    });
    const { record, existing } = splitExisting(a.json);
    return { key: this.expectKey(a, record), existing };
  }

  /** POST /me/keys/rollover: register the new key of a rollover statement (signing/rollover.ts). */
  async rolloverKey(statement: unknown): Promise<{ key: KeyRecord; rolledOver: KeyRecord & { rolled_over_to?: string } }> {
    const a = await this.transport.call('POST', '/me/keys/rollover', {
      body: { json: { statement } },
      retry: 'refused-only',
      deadlineMs: this.requestDeadlineMs,
      what: 'register the rollover',
    });
    const j = a.json;
    if (!isObject(j)) throw this.unexpected(a, 'no rollover answer');
    return { key: this.expectKey(a, j.key), rolledOver: this.expectKey(a, j.rolled_over) };
  }

  /** GET /me/keys: the caller's keys. */
  async listKeys(): Promise<KeyRecord[]> {
    const a = await this.transport.call('GET', '/me/keys', { retry: 'idempotent', deadlineMs: this.requestDeadlineMs, what: 'list your keys' });
    return this.expectKeys(a);
  }

  /** POST /me/keys/{id}/revoke. */
  async revokeKey(keyId: string): Promise<KeyRecord> {
    const a = await this.transport.call('POST', `/me/keys/${encodeURIComponent(keyId)}/revoke`, {
      body: { json: {} },
      // Revoking twice keeps the first time: safe to repeat.
      retry: 'idempotent',
      deadlineMs: this.requestDeadlineMs,
      what: `revoke key ${keyId}`,
    });
    return this.expectKey(a, a.json);
  }

  /** GET /plugins/{name}/versions/{version}/signatures, shape-checked (the documents are checked by the caller). */
  async signatures(name: string, version: string, platform?: string): Promise<VersionSignatures> {
    const a = await this.transport.call(
      'GET',
      `/plugins/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/signatures${platformQuery(platform)}`,
      {
        retry: 'idempotent',
        deadlineMs: this.requestDeadlineMs,
        what: `read the signatures of ${name} ${version}`,
      },
    );
    const j = a.json;
    if (!isObject(j) || !('publisher' in j) || !('marketplace' in j)) throw this.unexpected(a, 'no signatures');
    const pk = j.publisher_key;
    return {
      publisher: j.publisher ?? null,
      publisherKey: pk === null || pk === undefined ? null : this.expectKey(a, pk),
      marketplace: j.marketplace ?? null,
      attestations: j.attestations ?? null,
    };
  }

  /** GET …/sbom or …/provenance: the stored file's bytes (at most `maxBytes`). */
  async attestationFile(name: string, version: string, kind: 'sbom' | 'provenance', maxBytes: number, platform?: string): Promise<Buffer> {
    let bytes = Buffer.alloc(0);
    await this.transport.call('GET', `/plugins/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/${kind}${platformQuery(platform)}`, {
      retry: 'idempotent',
      deadlineMs: this.requestDeadlineMs,
      what: `download the ${kind === 'sbom' ? 'SBOM' : 'provenance'} of ${name} ${version}`,
      sink: async (body) => {
        const chunks: Buffer[] = [];
        let n = 0;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          n += chunk.length;
          if (n > maxBytes)
            throw new WorkFailedError(`the ${kind} of ${name} ${version} is over ${maxBytes} bytes`, {
              code: kind === 'sbom' ? 'SBOM_MALFORMED' : 'PROVENANCE_MALFORMED',
              hint: 'report this to the marketplace',
            });
          chunks.push(chunk);
        }
        bytes = Buffer.concat(chunks);
      },
    });
    return bytes;
  }

  /** GET …/download into `sink` (called afresh on every attempt). */
  async download(
    name: string,
    version: string,
    sink: (body: NodeJS.ReadableStream) => Promise<void>,
    deadlineMs = 600_000,
    platform?: string,
  ): Promise<{ sha256?: string }> {
    const a = await this.transport.call(
      'GET',
      `/plugins/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/download${platformQuery(platform)}`,
      {
        retry: 'idempotent',
        deadlineMs,
        attemptTimeoutMs: deadlineMs,
        what: `download ${name} ${version}`,
        sink: (body) => sink(body),
      },
    );
    const sha = a.headers['x-content-sha256'];
    return { sha256: typeof sha === 'string' ? sha : undefined };
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
    /** The publisher signature document (the .sig), sent as the `signature` part. */
    signature?: string;
    /** The SBOM (.cdx.json) and the provenance envelope (.intoto.jsonl) beside the archive, sent as the `sbom` and `provenance` parts. */
    sbom?: string;
    provenance?: string;
    /**
     * Checks still running on the archive (submit's overlap): the body's end
     * waits for them; when they reject, the upload is stopped before it ends
     * (the marketplace stores nothing) and their error is thrown, never retried.
     */
    hold?: Promise<unknown>;
  }): Promise<SubmitResult> {
    const key = opts.idempotencyKey ?? randomUUID();
    let sent = 0;
    let attempt = 0;
    const body = multipartBody(
      [
        { name: 'listing', value: JSON.stringify(opts.listing), contentType: 'application/json' },
        ...(opts.signature !== undefined ? [{ name: 'signature', value: opts.signature }] : []),
        ...(opts.sbom !== undefined ? [{ name: 'sbom', value: opts.sbom }] : []),
        ...(opts.provenance !== undefined ? [{ name: 'provenance', value: opts.provenance }] : []),
      ],
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
      opts.hold,
    );
    const a = await this.transport.call('POST', `/plugins/${encodeURIComponent(opts.name)}/submissions`, {
      body,
      headers: { 'idempotency-key': key, 'x-content-sha256': opts.sha256 },
      retry: 'idempotent',
      deadlineMs: opts.timeoutMs,
      what: 'upload the archive',
      bodyFailure: opts.hold,
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
    const { record, existing } = splitExisting(a.json);
    return { submission: this.expectSubmission(a, record), existing, attempts: attempt };
  }

  /**
   * Poll a submission until it reaches a final state (approved, rejected,
   * published) or `timeoutMs` passes. Backoff between polls doubles from
   * `intervalMs` up to `maxIntervalMs`. Once the submission has been seen,
   * a marketplace that stops answering (a restart: connection refused or
   * reset, 502/503/504) is polled on the same backoff until the deadline;
   * `onOutage` is told once per outage. Returns the last state seen, whether
   * it timed out and, when it timed out while the marketplace was down, that
   * outage. Other errors propagate.
   */
  async waitForFinal(
    id: string,
    opts: {
      timeoutMs: number;
      intervalMs?: number;
      maxIntervalMs?: number;
      onPoll?: (s: Submission) => void;
      onOutage?: (err: CliError, leftMs: number) => void;
    },
  ): Promise<{ submission: Submission; timedOut: boolean; outage?: Outage }> {
    const now = () => this.transport.clock.now();
    const deadline = now() + opts.timeoutMs;
    let interval = opts.intervalMs ?? 1000;
    const maxInterval = opts.maxIntervalMs ?? 15_000;
    let last: Submission | undefined;
    let outage: Outage | undefined;
    for (;;) {
      // Each poll ends with the wait; the last one (at the deadline) still gets a second to answer.
      const left0 = Math.max(1000, deadline - now());
      try {
        last = await this.getSubmission(id, Math.min(this.requestDeadlineMs, left0));
        outage = undefined;
      } catch (err) {
        // The poll itself ran out of the wait's time: that is the wait timing out.
        if (last && err instanceof CliError && err.code === 'TIMEOUT' && now() >= deadline) {
          return { submission: last, timedOut: true, outage };
        }
        if (!last || !isOutage(err)) throw err;
        if (!outage) {
          outage = { sinceMs: now(), error: err };
          opts.onOutage?.(err, Math.max(0, deadline - now()));
        }
      }
      if (!outage) {
        opts.onPoll?.(last);
        if (FINAL_STATES.includes(last.state)) return { submission: last, timedOut: false };
      }
      const left = deadline - now();
      if (left <= 0) return { submission: last, timedOut: true, outage };
      await this.transport.sleep(Math.min(interval, left));
      interval = Math.min(maxInterval, interval * 2);
    }
  }

  // ---- response checks -----------------------------------------------------

  private unexpected(a: Answer, why: string, hint?: string) {
    return unexpectedResponse(a, why, this.baseUrl, hint);
  }

  private expectKey(a: Answer, k: unknown): KeyRecord {
    try {
      parseKeyRecord(k);
    } catch (err) {
      throw this.unexpected(a, `a malformed key record (${(err as Error).message})`);
    }
    return k as KeyRecord;
  }

  private expectKeys(a: Answer): KeyRecord[] {
    const list = pick(a.json, 'keys');
    if (!Array.isArray(list)) throw this.unexpected(a, 'no keys list');
    return list.map((k) => this.expectKey(a, k));
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
    if (!isObject(me) || typeof me.user !== 'string' || me.user === '' || !('role' in me)) throw this.unexpected(a, 'no user');
    // A role the API does not define is a protocol error, never shown as if it meant something.
    if (!isRole(me.role)) {
      throw this.unexpected(
        a,
        `unknown role ${JSON.stringify(me.role)}, not one of ${ROLES.join(', ')}`,
        `API v1 gives every token one of the roles ${ROLES.join(' or ')}: check the marketplace URL, or update plexichat-plugin-cli if the marketplace is newer`,
      );
    }
    return me as Me;
  }

  private expectPlugin(a: Answer): PluginInfo {
    const p = a.json;
    if (!isObject(p) || typeof p.name !== 'string' || !Array.isArray(p.versions)) throw this.unexpected(a, 'no plugin');
    for (const v of p.versions) {
      if (!isObject(v) || typeof v.version !== 'string') throw this.unexpected(a, 'bad version entry');
    }
    return p as PluginInfo;
  }
}
