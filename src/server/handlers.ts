/**
 * Route handlers (docs/marketplace-api.md, "Routes"). Auth, roles, request
 * ids and faults are handled by hooks in index.ts; handlers check
 * ownership and state and throw ApiError for every refusal.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Multipart } from '@fastify/multipart';
import semver from 'semver';
import { isPluginName } from '../core/plugin-name.js';
import { ApiError } from './errors.js';
import { STATES, type Channel, type State, type SubmissionRow } from './db.js';
import { parseListing } from './listing.js';
import type { Received } from './store.js';
import type { RouteDef, RouteName } from './routes.js';
import type { ServerCore } from './index.js';

const KEY_RE = /^[\x20-\x7e]{1,255}$/;
const SHA_RE = /^[0-9a-f]{64}$/;
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const LISTING_MAX = 1024 * 1024;
/** Room for the listing and the multipart framing in the Content-Length pre-check. */
const FRAMING_SLACK = 2 * 1024 * 1024;

export function toApi(row: SubmissionRow) {
  return {
    id: row.id,
    plugin: row.plugin,
    version: row.version,
    state: row.state,
    sha256: row.sha256,
    size: row.size,
    channel: row.channel,
    notes: row.notes,
    owner: row.owner,
    reviewer: row.reviewer,
    created_at: row.created_at,
    updated_at: row.updated_at,
    published_at: row.published_at,
  };
}

function checkName(name: string): string {
  if (!isPluginName(name)) {
    throw new ApiError(400, 'INVALID_NAME', `"${name.slice(0, 80)}" is not a plugin name (snake_case, 3-64 characters)`);
  }
  return name;
}

function checkVersion(version: string): string {
  if (!semver.valid(version) || version.startsWith('v')) {
    throw new ApiError(400, 'INVALID_VERSION', `"${version.slice(0, 80)}" is not a semantic version (e.g. 1.2.0)`);
  }
  return version;
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

export function registerHandlers(
  app: FastifyInstance,
  core: ServerCore,
  routes: readonly RouteDef[],
  toPath: (p: string) => string,
): void {
  const { db, store } = core;
  const iso = () => new Date(core.now()).toISOString();

  const visible = (req: FastifyRequest, row: SubmissionRow | undefined, id: string): SubmissionRow => {
    if (!row) throw new ApiError(404, 'SUBMISSION_NOT_FOUND', `no submission ${id.slice(0, 80)}`);
    const caller = req.caller!;
    if (caller.role === 'developer' && row.owner !== caller.user) {
      throw new ApiError(403, 'NOT_OWNER', `submission ${row.id} belongs to another developer`);
    }
    return row;
  };

  const handlers: Record<RouteName, (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>> = {
    async health() {
      return { ok: true, version: '1' };
    },

    async me(req) {
      return { user: req.caller!.user, role: req.caller!.role };
    },

    submit: (req, reply) => submit(core, req, reply),

    async listPluginSubmissions(req) {
      const name = checkName((req.params as { name: string }).name);
      const plugin = db.plugin(name);
      const caller = req.caller!;
      if (plugin && caller.role === 'developer' && plugin.owner !== caller.user) {
        throw new ApiError(403, 'NOT_OWNER', `plugin ${name} belongs to another developer`);
      }
      return { submissions: db.submissions({ plugin: name }).map(toApi) };
    },

    async listSubmissions(req) {
      const q = req.query as { state?: string };
      if (q.state !== undefined && !STATES.includes(q.state as State)) {
        throw new ApiError(400, 'INVALID_STATE', `unknown state "${String(q.state).slice(0, 40)}" (one of ${STATES.join(', ')})`);
      }
      const caller = req.caller!;
      const rows = db.submissions({
        owner: caller.role === 'developer' ? caller.user : undefined,
        state: q.state as State | undefined,
      });
      return { submissions: rows.map(toApi) };
    },

    async getSubmission(req) {
      const id = (req.params as { id: string }).id;
      return toApi(visible(req, db.submission(id), id));
    },

    async review(req) {
      const id = (req.params as { id: string }).id;
      const body = (req.body ?? {}) as { decision?: unknown; notes?: unknown };
      if (typeof body !== 'object' || body === null) throw new ApiError(400, 'BAD_REQUEST', 'expected a JSON object');
      const decision = body.decision;
      if (decision !== 'approve' && decision !== 'reject' && decision !== 'claim') {
        throw new ApiError(400, 'INVALID_DECISION', 'decision must be "approve", "reject" or "claim"');
      }
      if (body.notes !== undefined && body.notes !== null && typeof body.notes !== 'string') {
        throw new ApiError(400, 'BAD_REQUEST', 'notes must be a string');
      }
      const notes = typeof body.notes === 'string' ? body.notes.trim() : '';
      if (notes.length > 10_000) throw new ApiError(400, 'BAD_REQUEST', 'notes are limited to 10000 characters');
      if (decision === 'reject' && notes === '') {
        throw new ApiError(400, 'NOTES_REQUIRED', 'a rejection needs notes that tell the developer what to fix');
      }
      const row = visible(req, db.submission(id), id);
      const target: State = decision === 'approve' ? 'approved' : decision === 'reject' ? 'rejected' : 'in_review';
      if (row.state === target) return toApi(row);
      const from: State[] = decision === 'claim' ? ['pending'] : ['pending', 'in_review'];
      if (!from.includes(row.state)) {
        throw new ApiError(409, 'WRONG_STATE', `submission ${row.id} is ${row.state}; cannot ${decision} it`, {
          state: row.state,
        });
      }
      const updated = db.update(row.id, {
        state: target,
        notes: decision === 'claim' ? row.notes : notes || null,
        reviewer: req.caller!.user,
        updated_at: iso(),
      });
      core.log(`review: ${row.plugin} ${row.version} (${row.id}) ${row.state} -> ${target}`);
      return toApi(updated);
    },

    async publish(req) {
      const id = (req.params as { id: string }).id;
      const body = (req.body ?? {}) as { channel?: unknown };
      if (typeof body !== 'object' || body === null) throw new ApiError(400, 'BAD_REQUEST', 'expected a JSON object');
      const channel = body.channel ?? 'stable';
      if (channel !== 'stable' && channel !== 'beta') {
        throw new ApiError(400, 'INVALID_CHANNEL', 'channel must be "stable" or "beta"');
      }
      const row = visible(req, db.submission(id), id);
      if (row.state === 'published') {
        if (row.channel === channel) return toApi(row);
        throw new ApiError(
          409,
          'ALREADY_PUBLISHED',
          `${row.plugin} ${row.version} is already published on the ${row.channel} channel`,
          { state: row.state },
        );
      }
      if (row.state !== 'approved') {
        throw new ApiError(
          409,
          'NOT_APPROVED',
          `${row.plugin} ${row.version} is ${row.state}, not approved; only an approved submission can be published`,
          { state: row.state },
        );
      }
      const t = iso();
      const updated = db.update(row.id, { state: 'published', channel: channel as Channel, published_at: t, updated_at: t });
      core.log(`publish: ${row.plugin} ${row.version} (${row.id}) on ${channel}`);
      return toApi(updated);
    },

    async getPlugin(req) {
      const name = checkName((req.params as { name: string }).name);
      const plugin = db.plugin(name);
      if (!plugin) throw new ApiError(404, 'PLUGIN_NOT_FOUND', `no plugin named ${name}`);
      const versions = db
        .published(name)
        .sort((a, b) => semver.rcompare(a.version, b.version))
        .map((r) => ({ version: r.version, channel: r.channel, sha256: r.sha256, size: r.size, published_at: r.published_at }));
      return { name: plugin.name, owner: plugin.owner, versions };
    },

    async download(req, reply) {
      const p = req.params as { name: string; version: string };
      const name = checkName(p.name);
      const version = checkVersion(p.version);
      const row = db.submissionOf(name, version);
      if (!row || row.state !== 'published') {
        throw new ApiError(404, 'VERSION_NOT_FOUND', `${name} ${version} is not published`);
      }
      reply
        .type('application/zip')
        .header('Content-Length', String(row.size))
        .header('X-Content-SHA256', row.sha256)
        .header('Content-Disposition', `attachment; filename="${name}-${version}.zip"`);
      return reply.send(createReadStream(store.pathOf(row.sha256)));
    },
  };

  for (const r of routes) {
    app.route({
      method: r.method,
      url: toPath(r.path),
      config: { routeName: r.name, access: r.access },
      handler: handlers[r.name],
    });
  }
}

async function readLimited(stream: NodeJS.ReadableStream, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  let over = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) over = true;
    else chunks.push(chunk);
  }
  return over ? undefined : Buffer.concat(chunks);
}

async function submit(core: ServerCore, req: FastifyRequest, reply: FastifyReply) {
  const { db, store } = core;
  const caller = req.caller!;
  const name = checkName((req.params as { name: string }).name);
  const plugin = db.plugin(name);
  if (plugin && plugin.owner !== caller.user) {
    throw new ApiError(403, 'NOT_OWNER', `plugin ${name} belongs to another developer; choose another name`);
  }
  const rawKey = req.headers['idempotency-key'];
  let key: string | undefined;
  if (rawKey !== undefined) {
    if (typeof rawKey !== 'string' || !KEY_RE.test(rawKey)) {
      throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 printable ASCII characters');
    }
    key = rawKey;
  }
  const rawDigest = req.headers['x-content-sha256'];
  let declared: string | undefined;
  if (rawDigest !== undefined) {
    declared = String(rawDigest).trim().toLowerCase();
    if (!SHA_RE.test(declared)) throw new ApiError(400, 'BAD_REQUEST', 'X-Content-SHA256 must be 64 hex digits');
  }
  const length = Number(req.headers['content-length']);
  const limitMb = Math.round((core.maxUploadBytes / (1024 * 1024)) * 10) / 10;
  const tooLarge = () =>
    new ApiError(413, 'PAYLOAD_TOO_LARGE', `the archive is larger than this marketplace accepts (${limitMb} MB)`, {
      limit_bytes: core.maxUploadBytes,
    });
  if (Number.isFinite(length) && length > core.maxUploadBytes + FRAMING_SLACK) throw tooLarge();
  if (!req.isMultipart()) {
    throw new ApiError(400, 'BAD_MULTIPART', 'expected a multipart/form-data body with "archive" and "listing" parts');
  }

  const flight = key === undefined ? undefined : `${caller.user}\n${key}`;
  if (flight !== undefined) {
    if (core.inflight.has(flight)) {
      throw new ApiError(409, 'IDEMPOTENCY_IN_FLIGHT', 'a request with this Idempotency-Key is still being processed', {}, {
        'Retry-After': '1',
      });
    }
    core.inflight.add(flight);
  }

  const temp = store.tempPath();
  const t0 = performance.now();
  const phases: string[] = [];
  const phase = (label: string) => phases.push(`${label} ${Math.round(performance.now() - t0)}ms`);
  let committedDigest: string | undefined;
  // A client that goes away mid-upload aborts the write; the temp file is removed below.
  const abort = new AbortController();
  const onClose = () => {
    if (!req.raw.complete) abort.abort(new Error('client disconnected'));
  };
  req.raw.once('close', onClose);
  try {
    let received: Received | undefined;
    let listingBytes: Buffer | undefined;
    let problem: ApiError | undefined;
    try {
      for await (const part of req.parts() as AsyncIterableIterator<Multipart>) {
        if (part.fieldname === 'archive' && part.type === 'file' && !received) {
          received = await store.receive(part.file, temp, core.maxUploadBytes, {
            signal: abort.signal,
            failAfter: req.diskFullAfter,
          });
        } else if (part.fieldname === 'listing' && listingBytes === undefined) {
          if (part.type === 'file') {
            listingBytes = await readLimited(part.file, LISTING_MAX);
            if (!listingBytes) problem ??= new ApiError(422, 'INVALID_LISTING', 'listing: larger than 1 MiB');
            listingBytes ??= Buffer.alloc(0);
          } else {
            if (part.valueTruncated) problem ??= new ApiError(422, 'INVALID_LISTING', 'listing: larger than 1 MiB');
            const v = part.value;
            listingBytes = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
          }
        } else {
          if (part.type === 'file') part.file.resume();
          problem ??= new ApiError(
            400,
            'BAD_MULTIPART',
            `unexpected part "${part.fieldname.slice(0, 40)}": send exactly one "archive" file and one "listing"`,
          );
        }
      }
    } catch (err) {
      if (abort.signal.aborted) throw new ApiError(400, 'BAD_REQUEST', 'the client disconnected during the upload');
      const code = (err as { code?: string }).code;
      if (code === 'FST_INVALID_JSON_FIELD_ERROR') throw new ApiError(422, 'INVALID_LISTING', 'listing: not valid JSON');
      if (code?.startsWith('FST_')) throw err;
      if (err instanceof ApiError) throw err;
      // File-system trouble (ENOSPC, EIO ...) is the server's, not a malformed body.
      if (code && /^E[A-Z]+$/.test(code) && code !== 'ECONNRESET' && code !== 'EPIPE') throw err;
      throw new ApiError(400, 'BAD_MULTIPART', `the multipart body is malformed (${String((err as Error).message).split('\n')[0]})`);
    }
    if (abort.signal.aborted) throw new ApiError(400, 'BAD_REQUEST', 'the client disconnected during the upload');
    phase('received');
    if (received?.truncated) throw tooLarge();
    if (problem) throw problem;
    if (!received) throw new ApiError(400, 'MISSING_PART', 'the "archive" part (the plugin zip) is missing');
    if (!listingBytes) throw new ApiError(400, 'MISSING_PART', 'the "listing" part is missing: run marketplace prepare');
    if (declared !== undefined && declared !== received.sha256) {
      throw new ApiError(
        400,
        'DIGEST_MISMATCH',
        `the archive arrived with sha256 ${short(received.sha256)}…, but X-Content-SHA256 says ${short(declared)}…; it was corrupted in transit, retry`,
      );
    }

    const fingerprint = createHash('sha256')
      .update(`${name}\n${received.sha256}\n${createHash('sha256').update(listingBytes).digest('hex')}`)
      .digest('hex');
    if (key !== undefined) {
      const stored = db.idempotency(caller.user, key, core.now());
      if (stored) {
        if (stored.fingerprint !== fingerprint) {
          throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key');
        }
        reply.header('Idempotent-Replayed', 'true');
        return reply.code(stored.status).type('application/json; charset=utf-8').send(stored.body);
      }
    }

    const listing = parseListing(listingBytes);
    if (listing.name !== name) {
      throw new ApiError(422, 'LISTING_MISMATCH', `the listing is for "${listing.name.slice(0, 80)}" but the upload is for ${name}`);
    }
    if (listing.archive.sha256 !== received.sha256 || listing.archive.size !== received.size) {
      throw new ApiError(
        422,
        'LISTING_MISMATCH',
        `the listing describes an archive with sha256 ${short(listing.archive.sha256)}… (${listing.archive.size} bytes), but the upload has sha256 ${short(received.sha256)}… (${received.size} bytes); run marketplace prepare again`,
      );
    }
    const version = listing.version;
    const idemExpires = core.now() + IDEMPOTENCY_TTL_MS;

    const answerExisting = (row: SubmissionRow) => {
      if (row.sha256 !== received.sha256) {
        throw new ApiError(
          409,
          'VERSION_EXISTS',
          `${name} ${version} was already submitted with a different archive (sha256 ${short(row.sha256)}…); bump the version`,
          { submission_id: row.id, state: row.state },
        );
      }
      const body = JSON.stringify({ ...toApi(row), existing: true });
      if (key !== undefined) db.rememberIdempotent(caller.user, key, fingerprint, 200, body, idemExpires);
      return reply.code(200).type('application/json; charset=utf-8').send(body);
    };

    const existing = db.submissionOf(name, version);
    if (existing) return answerExisting(existing);

    const report = await core.verify(temp, { maxArchiveBytes: core.maxUploadBytes, expect: { name, version } });
    phase('verified');
    const errors = report.findings.filter((f) => f.severity === 'error');
    if (!report.ok || errors.length > 0) {
      const first = errors[0];
      const where = first?.entry ? ` (${first.entry})` : '';
      throw new ApiError(422, 'INVALID_ARCHIVE', `the archive is not valid: ${first?.message ?? 'verification failed'}${where}`, {
        findings: errors.map((f) => ({ code: f.code, message: f.message, ...(f.entry ? { entry: f.entry } : {}) })),
      });
    }
    const m = report.manifest?.plugin;
    if (m && (m.name !== name || m.version !== version)) {
      throw new ApiError(
        422,
        'INVALID_ARCHIVE',
        `the archive's config/plugin.yaml says ${m.name} ${m.version}, but the upload is ${name} ${version}`,
        { findings: [{ code: 'MANIFEST_MISMATCH', message: 'manifest name/version differ from the upload' }] },
      );
    }

    // Durable first: the archive is on disk under its digest before the row exists.
    core.pendingDigests.set(received.sha256, (core.pendingDigests.get(received.sha256) ?? 0) + 1);
    committedDigest = received.sha256;
    await store.commit(temp, received.sha256);
    phase('stored');
    const t = new Date(core.now()).toISOString();
    const row: SubmissionRow = {
      id: `sub_${randomBytes(8).toString('hex')}`,
      plugin: name,
      version,
      state: core.autoApprove ? 'approved' : 'pending',
      sha256: received.sha256,
      size: received.size,
      channel: null,
      notes: null,
      owner: caller.user,
      reviewer: core.autoApprove ? 'auto' : null,
      listing: listingBytes.toString('utf8'),
      created_at: t,
      updated_at: t,
      published_at: null,
    };
    const result = db.insertSubmission(
      row,
      key === undefined
        ? undefined
        : { key, fingerprint, status: 201, body: (r) => JSON.stringify({ ...toApi(r), existing: false }), expiresAt: idemExpires },
    );
    if (result.kind === 'not-owner') {
      throw new ApiError(403, 'NOT_OWNER', `plugin ${name} belongs to another developer; choose another name`);
    }
    if (result.kind === 'exists') return answerExisting(result.row);
    core.log(`submission: ${name} ${version} (${row.id}) ${row.state}, ${received.size} bytes, sha256 ${short(received.sha256)}… (${phases.join(', ')})`);
    return reply
      .code(201)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ ...toApi(result.row), existing: false }));
  } finally {
    req.raw.off('close', onClose);
    if (!req.raw.complete && !req.raw.destroyed) {
      // Refused mid-body (e.g. ENOSPC): discard the rest so the connection can carry the next request.
      req.raw.unpipe();
      req.raw.resume();
    }
    if (flight !== undefined) core.inflight.delete(flight);
    await store.discard(temp);
    if (committedDigest !== undefined) {
      const n = (core.pendingDigests.get(committedDigest) ?? 1) - 1;
      if (n <= 0) core.pendingDigests.delete(committedDigest);
      else core.pendingDigests.set(committedDigest, n);
      // A stored archive no row refers to (the insert was refused) is removed.
      if (n <= 0 && !db.hasDigest(committedDigest)) await store.discard(store.pathOf(committedDigest));
    }
  }
}
