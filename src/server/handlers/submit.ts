/**
 * POST /plugins/{name}/submissions in three steps:
 *
 *   parseHeaders   the URL, ownership and headers, before any byte of the body is read;
 *   receiveParts   the multipart body: the archive streamed into tmp/ (hashed, counted), the listing;
 *   commit         idempotent replay, the listing against the upload, the archive check,
 *                  then durable storage and the row (the archive is on disk before the row exists).
 *
 * submit() runs them and always cleans up: the temp file, an in-flight
 * key, a stored archive no row came to refer to.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Multipart } from '@fastify/multipart';
import type { Caller } from '../auth.js';
import { callerOf, type ServerCore } from '../core.js';
import type { SubmissionRow } from '../storage/meta.js';
import { ApiError } from '../errors.js';
import { checkName, short, toApi } from './values.js';
import { parseListing } from '../listing.js';
import { MAX_SIGNATURE_BYTES } from '../../signing/document.js';
import semver from 'semver';
import { diffSummaries, manifestSummary, parseSummary, type ManifestDiff, type ManifestSummary } from '../../release/diff.js';
import { archiveDependencies, dependencyDiffWithPublished } from '../deps-diff.js';
import type { DependencySummary } from '../../release/deps-diff.js';
import type { Received } from '../storage/blobs.js';
import { ATTESTATION_PART_MAX } from '../attestations.js';
import type { ArchiveView } from '../../attest/sbom.js';
import { MANIFEST_PATH } from '../../core/manifest/types.js';

const KEY_RE = /^[\x20-\x7e]{1,255}$/;
const SHA_RE = /^[0-9a-f]{64}$/;
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const LISTING_MAX = 1024 * 1024;
const SIGNATURE_MAX = MAX_SIGNATURE_BYTES;
/** Room for the listing and the multipart framing in the Content-Length pre-check. */
const FRAMING_SLACK = 2 * 1024 * 1024;

interface Head {
  name: string;
  caller: Caller;
  /** The Idempotency-Key, when sent. */
  key?: string;
  /** X-Content-SHA256, when sent (lowercase). */
  declared?: string;
}

interface Parts {
  received: Received;
  listingBytes: Buffer;
  /** The optional publisher signature document (docs/signing.md). */
  signatureBytes?: Buffer;
  /** The optional SBOM and provenance envelope (attestations.ts). */
  sbomBytes?: Buffer;
  provenanceBytes?: Buffer;
}

/** What submit() must undo whatever happens. */
interface Cleanup {
  temp: string;
  flight?: string;
  committedDigest?: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function tooLarge(core: ServerCore): ApiError {
  const limitMb = Math.round((core.maxUploadBytes / (1024 * 1024)) * 10) / 10;
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', `the archive is larger than this marketplace accepts (${limitMb} MB)`, {
    limit_bytes: core.maxUploadBytes,
  });
}

function notOwner(name: string): ApiError {
  return new ApiError(403, 'NOT_OWNER', `plugin ${name} belongs to another developer; choose another name`);
}

const attestationTooBig = (part: string) =>
  new ApiError(422, part === 'sbom' ? 'SBOM_MALFORMED' : 'PROVENANCE_MALFORMED', `${part}: larger than ${ATTESTATION_PART_MAX} bytes`);

const disconnected = () => new ApiError(400, 'BAD_REQUEST', 'the client disconnected during the upload');

// ---- 1. headers ---------------------------------------------------------

async function parseHeaders(core: ServerCore, req: FastifyRequest): Promise<Head> {
  const caller = callerOf(req);
  const name = checkName((req.params as { name: string }).name);
  const plugin = await core.meta.plugin(name);
  if (plugin && plugin.owner !== caller.user) throw notOwner(name);
  const head: Head = { name, caller };
  const rawKey = req.headers['idempotency-key'];
  if (rawKey !== undefined) {
    if (typeof rawKey !== 'string' || !KEY_RE.test(rawKey)) {
      throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-255 printable ASCII characters');
    }
    head.key = rawKey;
  }
  const rawDigest = req.headers['x-content-sha256'];
  if (rawDigest !== undefined) {
    head.declared = String(rawDigest).trim().toLowerCase();
    if (!SHA_RE.test(head.declared)) throw new ApiError(400, 'BAD_REQUEST', 'X-Content-SHA256 must be 64 hex digits');
  }
  const length = Number(req.headers['content-length']);
  if (Number.isFinite(length) && length > core.maxUploadBytes + FRAMING_SLACK) throw tooLarge(core);
  if (!req.isMultipart()) {
    throw new ApiError(400, 'BAD_MULTIPART', 'expected a multipart/form-data body with "archive" and "listing" parts');
  }
  return head;
}

/** Mark the key as being processed (409 while another request holds it); the flight id to release. */
function enterFlight(core: ServerCore, head: Head): string | undefined {
  if (head.key === undefined) return undefined;
  const flight = `${head.caller.user}\n${head.key}`;
  if (core.inflight.has(flight)) {
    throw new ApiError(
      409,
      'IDEMPOTENCY_IN_FLIGHT',
      'a request with this Idempotency-Key is still being processed',
      {},
      {
        'Retry-After': '1',
      },
    );
  }
  core.inflight.add(flight);
  return flight;
}

// ---- 2. parts -----------------------------------------------------------

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

interface Gathered {
  received?: Received;
  listingBytes?: Buffer;
  signatureBytes?: Buffer;
  sbomBytes?: Buffer;
  provenanceBytes?: Buffer;
  /** The first refusal found while reading; thrown once the body is consumed. */
  problem?: ApiError;
}

/** A small part (listing, signature) as bytes, at most `max`; over it, `tooBig` is the problem. */
async function readSmallPart(part: Multipart, got: Gathered, max: number, tooBig: () => ApiError): Promise<Buffer> {
  let bytes: Buffer | undefined;
  if (part.type === 'file') {
    bytes = await readLimited(part.file, max);
  } else {
    const v = part.value;
    bytes = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
    if (part.valueTruncated || bytes.length > max) bytes = undefined;
  }
  if (!bytes) got.problem ??= tooBig();
  return bytes ?? Buffer.alloc(0);
}

/** A failure while reading the body, as the API error it means. */
function bodyError(err: unknown, aborted: boolean): unknown {
  if (aborted) return disconnected();
  const code = (err as { code?: string }).code;
  if (code === 'FST_INVALID_JSON_FIELD_ERROR') return new ApiError(422, 'INVALID_LISTING', 'listing: not valid JSON');
  if (code?.startsWith('FST_')) return err;
  if (err instanceof ApiError) return err;
  // File-system trouble (ENOSPC, EIO ...) is the server's, not a malformed body.
  if (code && /^E[A-Z]+$/.test(code) && code !== 'ECONNRESET' && code !== 'EPIPE') return err;
  return new ApiError(400, 'BAD_MULTIPART', `the multipart body is malformed (${String((err as Error).message).split('\n')[0]})`);
}

async function receiveParts(core: ServerCore, req: FastifyRequest, temp: string, signal: AbortSignal): Promise<Parts> {
  const got: Gathered = {};
  try {
    for await (const part of req.parts()) {
      if (part.fieldname === 'archive' && part.type === 'file' && !got.received) {
        got.received = await core.blobs.receive(part.file, temp, core.maxUploadBytes, { signal, failAfter: req.diskFullAfter });
      } else if (part.fieldname === 'listing' && got.listingBytes === undefined) {
        got.listingBytes = await readSmallPart(part, got, LISTING_MAX, () => new ApiError(422, 'INVALID_LISTING', 'listing: larger than 1 MiB'));
      } else if (part.fieldname === 'signature' && got.signatureBytes === undefined) {
        got.signatureBytes = await readSmallPart(
          part,
          got,
          SIGNATURE_MAX,
          () => new ApiError(422, 'SIGNATURE_MALFORMED', `signature: larger than ${SIGNATURE_MAX} bytes`),
        );
      } else if ((part.fieldname === 'sbom' || part.fieldname === 'provenance') && got[`${part.fieldname}Bytes`] === undefined) {
        got[`${part.fieldname}Bytes`] = await readSmallPart(part, got, ATTESTATION_PART_MAX, () => attestationTooBig(part.fieldname));
      } else {
        if (part.type === 'file') part.file.resume();
        got.problem ??= new ApiError(
          400,
          'BAD_MULTIPART',
          `unexpected part "${part.fieldname.slice(0, 40)}": send exactly one "archive" file, one "listing" and at most one each of "signature", "sbom" and "provenance"`,
        );
      }
    }
  } catch (err) {
    throw bodyError(err, signal.aborted);
  }
  if (signal.aborted) throw disconnected();
  const { received, listingBytes, signatureBytes, sbomBytes, provenanceBytes, problem } = got;
  if (received?.truncated) throw tooLarge(core);
  if (problem) throw problem;
  if (!received) throw new ApiError(400, 'MISSING_PART', 'the "archive" part (the plugin zip) is missing');
  if (!listingBytes) throw new ApiError(400, 'MISSING_PART', 'the "listing" part is missing: run marketplace prepare');
  return { received, listingBytes, signatureBytes, sbomBytes, provenanceBytes };
}

// ---- 3. commit ----------------------------------------------------------

function checkDigest(head: Head, received: Received): void {
  if (head.declared !== undefined && head.declared !== received.sha256) {
    throw new ApiError(
      400,
      'DIGEST_MISMATCH',
      `the archive arrived with sha256 ${short(received.sha256)}…, but X-Content-SHA256 says ${short(head.declared)}…; it was corrupted in transit, retry`,
    );
  }
}

function fingerprintOf(name: string, parts: Parts): string {
  const digest = (b: Buffer | undefined) => (b ? createHash('sha256').update(b).digest('hex') : '-');
  const attested = parts.sbomBytes || parts.provenanceBytes ? `\n${digest(parts.sbomBytes)}\n${digest(parts.provenanceBytes)}` : '';
  return createHash('sha256')
    .update(`${name}\n${parts.received.sha256}\n${digest(parts.listingBytes)}${attested}`)
    .digest('hex');
}

/** The listing, checked against the URL and the received archive; its version. */
function checkListing(name: string, parts: Parts): string {
  const { received } = parts;
  const listing = parseListing(parts.listingBytes);
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
  return listing.version;
}

/** The same archive checks `plexichat-plugin verify` runs, and the manifest against the upload. */
async function verifyUpload(
  core: ServerCore,
  temp: string,
  name: string,
  version: string,
): Promise<{ summary?: ManifestSummary; listingSha256: string | null; view: Omit<ArchiveView, 'sha256'>; platform: string }> {
  const report = await core.verify(temp, { maxArchiveBytes: core.maxUploadBytes, expect: { name, version } });
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
    throw new ApiError(422, 'INVALID_ARCHIVE', `the archive's config/plugin.yaml says ${m.name} ${m.version}, but the upload is ${name} ${version}`, {
      findings: [{ code: 'MANIFEST_MISMATCH', message: 'manifest name/version differ from the upload' }],
    });
  }
  const view = { members: report.members, plugin: m, packages: report.manifest?.dependencies?.packages };
  // The packages it declares and packs are kept beside the summary (server/deps-diff.ts).
  // The manifest file's digest: the platform variants of one version must carry the same one (storage/meta.ts joinVariant).
  const manifestSha256 = report.members.get(MANIFEST_PATH)?.sha256;
  const summary = report.manifest ? { ...manifestSummary(report.manifest), dependencies: archiveDependencies(report), manifestSha256 } : undefined;
  return { summary, listingSha256: report.listingSha256 ?? null, view, platform: report.platform ?? '' };
}

/** What the upload asks for compared with the latest published version (the reviewer sees it). */
async function diffWithPublished(core: ServerCore, name: string, summary: ManifestSummary | undefined): Promise<ManifestDiff | undefined> {
  const latest = (await core.meta.published(name)).sort((a, b) => semver.rcompare(a.version, b.version))[0];
  const stored: unknown = latest?.manifest ? JSON.parse(latest.manifest) : undefined;
  const before = stored ? parseSummary(stored) : undefined;
  if (!before || !summary) return undefined;
  const dependencies = dependencyDiffWithPublished(stored, (summary as { dependencies?: DependencySummary }).dependencies);
  return { ...diffSummaries(before, summary), ...(dependencies ? { dependencies } : {}) };
}

interface Commit {
  core: ServerCore;
  reply: FastifyReply;
  head: Head;
  parts: Parts;
  fingerprint: string;
  version: string;
  idemExpires: number;
}

/** 200 with the submission that already has this (name, version, platform) and archive; 409 for another archive. */
async function answerExisting(c: Commit, row: SubmissionRow) {
  const { head, parts } = c;
  if (row.sha256 !== parts.received.sha256) {
    const what = row.platform ? `the ${row.platform} variant of ${head.name} ${c.version}` : `${head.name} ${c.version}`;
    throw new ApiError(409, 'VERSION_EXISTS', `${what} was already submitted with a different archive (sha256 ${short(row.sha256)}…); bump the version`, {
      submission_id: row.id,
      state: row.state,
      ...(row.platform ? { platform: row.platform } : {}),
    });
  }
  const body = JSON.stringify({ ...toApi(row, await c.core.attestations.summaryOf(row.id)), existing: true });
  if (head.key !== undefined) {
    await c.core.meta.rememberIdempotent({ user: head.caller.user, key: head.key, fingerprint: c.fingerprint, status: 200, body, expires_at: c.idemExpires });
  }
  return c.reply.code(200).type(JSON_TYPE).send(body);
}

async function newRow(
  core: ServerCore,
  head: Head,
  parts: Parts,
  version: string,
  summary: ManifestSummary | undefined,
  platform: string,
): Promise<SubmissionRow> {
  const t = new Date(core.now()).toISOString();
  const diff = await diffWithPublished(core, head.name, summary);
  return {
    id: `sub_${randomBytes(8).toString('hex')}`,
    plugin: head.name,
    version,
    state: core.autoApprove ? 'approved' : 'pending',
    sha256: parts.received.sha256,
    size: parts.received.size,
    channel: null,
    notes: null,
    owner: head.caller.user,
    reviewer: core.autoApprove ? 'auto' : null,
    listing: parts.listingBytes.toString('utf8'),
    created_at: t,
    updated_at: t,
    published_at: null,
    manifest: summary ? JSON.stringify(summary) : null,
    permission_diff: diff ? JSON.stringify(diff) : null,
    platform,
  };
}

async function commit(core: ServerCore, reply: FastifyReply, head: Head, parts: Parts, cleanup: Cleanup, phase: (label: string) => string[]) {
  const { meta } = core;
  const { name, key, caller } = head;
  const { received } = parts;
  checkDigest(head, received);
  const fingerprint = fingerprintOf(name, parts);
  if (key !== undefined) {
    const stored = await meta.idempotency(caller.user, key, core.now());
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key');
      }
      reply.header('Idempotent-Replayed', 'true');
      return reply.code(stored.status).type(JSON_TYPE).send(stored.body);
    }
  }
  const version = checkListing(name, parts);
  const c: Commit = { core, reply, head, parts, fingerprint, version, idemExpires: core.now() + IDEMPOTENCY_TTL_MS };
  // The same bytes again (any variant), or a version without variants: answered before the archive is read.
  const siblings = await meta.variantsOf(name, version);
  const existing = siblings.find((s) => s.sha256 === received.sha256) ?? (siblings[0]?.platform === '' ? siblings[0] : undefined);
  if (existing) return await answerExisting(c, existing);

  const { summary, listingSha256, view, platform } = await verifyUpload(core, cleanup.temp, name, version);
  const facts = { sha256: received.sha256, size: received.size, contentsSha256: listingSha256 };
  const signed = await core.signing.checkUpload({ owner: caller.user, name, version, signature: parts.signatureBytes, archive: cleanup.temp, facts });
  const attested = await core.attestations.check({
    owner: caller.user,
    name,
    version,
    archive: { ...view, sha256: received.sha256 },
    sbom: parts.sbomBytes,
    provenance: parts.provenanceBytes,
  });
  phase('verified');
  // The SBOM and envelope are stored under their digests before the row, as the archive is.
  await core.attestations.store(attested);
  // Durable first: the archive is on disk under its digest before the row exists.
  core.pendingDigests.set(received.sha256, (core.pendingDigests.get(received.sha256) ?? 0) + 1);
  cleanup.committedDigest = received.sha256;
  await core.blobs.commit(cleanup.temp, received.sha256);
  const phases = phase('stored');
  const row = await newRow(core, head, parts, version, summary, platform);
  const result = await meta.insertSubmission(
    row,
    key === undefined
      ? undefined
      : {
          key,
          fingerprint,
          status: 201,
          body: (r) => JSON.stringify({ ...toApi(r, core.attestations.summaryOfAccepted(attested)), existing: false }),
          expiresAt: c.idemExpires,
        },
    core.signing.uploadRecord(signed),
    core.now(),
    core.attestations.record(attested),
  );
  if (result.kind === 'not-owner') throw notOwner(name);
  // Revoked while the upload was checked: the check again, now against the key as the transaction saw it.
  if (result.kind === 'key-invalid') {
    await core.signing.checkUpload({ owner: caller.user, name, version, signature: parts.signatureBytes, archive: '', facts });
    throw new ApiError(422, 'KEY_REVOKED', `the key that signed this upload was revoked or expired while it was checked; sign it with a current key`);
  }
  if (result.kind === 'exists') return await answerExisting(c, result.row);
  if (result.kind === 'variant-mismatch') {
    throw new ApiError(
      409,
      'VARIANT_MISMATCH',
      `${platform ? `the ${platform} variant` : 'this archive'} of ${name} ${version} cannot join the version: ${result.why}`,
      {
        submission_id: result.row.id,
        state: result.row.state,
      },
    );
  }
  core.log(`submission: ${name} ${version} (${row.id}) ${row.state}, ${received.size} bytes, sha256 ${short(received.sha256)}… (${phases.join(', ')})`);
  return reply
    .code(201)
    .type(JSON_TYPE)
    .send(JSON.stringify({ ...toApi(result.row, core.attestations.summaryOfAccepted(attested)), existing: false }));
}

// ---- the route ----------------------------------------------------------

async function release(core: ServerCore, req: FastifyRequest, cleanup: Cleanup): Promise<void> {
  if (!req.raw.complete && !req.raw.destroyed) {
    // Refused mid-body (e.g. ENOSPC): discard the rest so the connection can carry the next request.
    req.raw.unpipe();
    req.raw.resume();
  }
  if (cleanup.flight !== undefined) core.inflight.delete(cleanup.flight);
  await core.blobs.discardTemp(cleanup.temp);
  const digest = cleanup.committedDigest;
  if (digest !== undefined) {
    const n = (core.pendingDigests.get(digest) ?? 1) - 1;
    if (n <= 0) core.pendingDigests.delete(digest);
    else core.pendingDigests.set(digest, n);
    // A stored archive no row refers to (the insert was refused) is removed; in a shared store another
    // replica may be storing the same bytes for its row, so the sweep removes it after its grace.
    if (n <= 0 && !core.blobs.shared && !(await core.meta.hasDigest(digest))) await core.blobs.remove(digest);
  }
}

export async function submit(core: ServerCore, req: FastifyRequest, reply: FastifyReply) {
  const head = await parseHeaders(core, req);
  const flight = enterFlight(core, head);
  const cleanup: Cleanup = { temp: core.blobs.tempPath(), flight };
  const t0 = performance.now();
  const phases: string[] = [];
  const phase = (label: string) => {
    phases.push(`${label} ${Math.round(performance.now() - t0)}ms`);
    return phases;
  };
  // A client that goes away mid-upload aborts the write; the temp file is removed by release().
  const abort = new AbortController();
  const onClose = () => {
    if (!req.raw.complete) abort.abort(new Error('client disconnected'));
  };
  req.raw.once('close', onClose);
  try {
    const parts = await receiveParts(core, req, cleanup.temp, abort.signal);
    phase('received');
    return await commit(core, reply, head, parts, cleanup, phase);
  } finally {
    req.raw.off('close', onClose);
    await release(core, req, cleanup);
  }
}
