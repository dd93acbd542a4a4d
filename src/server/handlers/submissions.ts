/**
 * Reading submissions, reviewing and publishing them. Roles are checked by
 * the auth plugin; these check ownership and state.
 */
import type { FastifyRequest } from 'fastify';
import { callerOf, type RouteHandlers, type ServerCore } from '../core.js';
import { STATES, type Channel, type PublishRequest, type State, type SubmissionRow } from '../storage/meta.js';
import { ApiError } from '../errors.js';
import { checkName, toApi } from './values.js';
import { archiveFacts } from '../../signing/archive.js';

/** The submission if the caller may see it: a developer sees only their own. */
function visible(req: FastifyRequest, row: SubmissionRow | undefined, id: string): SubmissionRow {
  if (!row) throw new ApiError(404, 'SUBMISSION_NOT_FOUND', `no submission ${id.slice(0, 80)}`);
  const caller = callerOf(req);
  if (caller.role === 'developer' && row.owner !== caller.user) {
    throw new ApiError(403, 'NOT_OWNER', `submission ${row.id} belongs to another developer`);
  }
  return row;
}

function jsonObject<T>(req: FastifyRequest): Partial<T> {
  const body = (req.body ?? {}) as Partial<T>;
  if (typeof body !== 'object' || body === null) throw new ApiError(400, 'BAD_REQUEST', 'expected a JSON object');
  return body;
}

type Decision = 'approve' | 'reject' | 'claim';

function parseReview(req: FastifyRequest): { decision: Decision; notes: string } {
  const body = jsonObject<{ decision: unknown; notes: unknown }>(req);
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
  return { decision, notes };
}

/** Throws unless the row can be published on `channel` now (returns when it is approved, or already published there). */
function notPublishable(row: SubmissionRow, channel: string): void {
  if (row.state === 'published') {
    if (row.channel === channel) return;
    throw new ApiError(409, 'ALREADY_PUBLISHED', `${row.plugin} ${row.version} is already published on the ${row.channel} channel`, { state: row.state });
  }
  if (row.state !== 'approved') {
    throw new ApiError(409, 'NOT_APPROVED', `${row.plugin} ${row.version} is ${row.state}, not approved; only an approved submission can be published`, {
      state: row.state,
    });
  }
}

/** The member-list digest of a stored archive (rows from before signing have no record of it). */
async function contentsOf(core: ServerCore, sha256: string): Promise<string | null> {
  const local = await core.blobs.local(sha256);
  try {
    return (await archiveFacts(local.path)).contentsSha256;
  } finally {
    await local.release();
  }
}

/** The other platform variants of a submission's version (none for a version with one archive). */
async function otherVariants(core: ServerCore, row: SubmissionRow): Promise<SubmissionRow[]> {
  return row.platform ? (await core.meta.variantsOf(row.plugin, row.version)).filter((r) => r.id !== row.id) : [];
}

/**
 * Publish a version: the marketplace counter-signs each of its archives (its
 * one archive, or every platform variant), then the store publishes them all
 * in one transaction, re-checking each one's state and publisher key
 * (revoked since the upload: refused). All or none: a variant that cannot be
 * published leaves the whole version unpublished.
 */
async function publishVersion(core: ServerCore, rows: readonly SubmissionRow[], channel: Channel, t: string) {
  const requests: PublishRequest[] = [];
  for (const row of rows) {
    const counter = await core.signing.counterSign(row, t, () => contentsOf(core, row.sha256));
    const attested = await core.attestations.counterSign(row, t);
    requests.push({
      id: row.id,
      channel,
      at: t,
      marketplace: JSON.stringify(counter.doc),
      contentsSha256: counter.contentsSha256,
      publisherKey: counter.publisherKey,
      attestationMarketplace: attested ? JSON.stringify(attested) : null,
      now: core.now(),
    });
  }
  const result = await core.meta.publish(requests);
  if (result?.kind === 'key-invalid') {
    const which = rows.find((r, i) => requests[i].publisherKey === result.key?.key_id) ?? rows[0];
    throw core.signing.keyStop(which, requests[rows.indexOf(which)].publisherKey!, result.key);
  }
  return result;
}

export function submissionHandlers(core: ServerCore): RouteHandlers<'listPluginSubmissions' | 'listSubmissions' | 'getSubmission' | 'review' | 'publish'> {
  const { meta } = core;
  const iso = () => new Date(core.now()).toISOString();
  const api = async (r: SubmissionRow) => toApi(r, await core.attestations.summaryOf(r.id));
  const apis = (rows: SubmissionRow[]) => Promise.all(rows.map(api));
  return {
    async listPluginSubmissions(req) {
      const name = checkName((req.params as { name: string }).name);
      const plugin = await meta.plugin(name);
      const caller = callerOf(req);
      if (plugin && caller.role === 'developer' && plugin.owner !== caller.user) {
        throw new ApiError(403, 'NOT_OWNER', `plugin ${name} belongs to another developer`);
      }
      return { submissions: await apis(await meta.submissions({ plugin: name })) };
    },

    async listSubmissions(req) {
      const q = req.query as { state?: string };
      if (q.state !== undefined && !STATES.includes(q.state as State)) {
        throw new ApiError(400, 'INVALID_STATE', `unknown state "${String(q.state).slice(0, 40)}" (one of ${STATES.join(', ')})`);
      }
      const caller = callerOf(req);
      const rows = await meta.submissions({
        owner: caller.role === 'developer' ? caller.user : undefined,
        state: q.state as State | undefined,
      });
      return { submissions: await apis(rows) };
    },

    async getSubmission(req) {
      const id = (req.params as { id: string }).id;
      return api(visible(req, await meta.submission(id), id));
    },

    async review(req) {
      const id = (req.params as { id: string }).id;
      const { decision, notes } = parseReview(req);
      const row = visible(req, await meta.submission(id), id);
      const target: State = decision === 'approve' ? 'approved' : decision === 'reject' ? 'rejected' : 'in_review';
      if (row.state === target) return api(row);
      const from: State[] = decision === 'claim' ? ['pending'] : ['pending', 'in_review'];
      const wrong = (r: SubmissionRow) =>
        new ApiError(409, 'WRONG_STATE', `submission ${r.id} is ${r.state}; cannot ${decision} it`, {
          state: r.state,
        });
      if (!from.includes(row.state)) throw wrong(row);
      // The move is decided by the store (another reviewer, or a replica, may have moved it since it was read).
      const fields = { state: target, notes: decision === 'claim' ? row.notes : notes || null, reviewer: callerOf(req).user, updated_at: iso() };
      const result = await meta.review(row.id, from, fields);
      if (!result) throw new ApiError(404, 'SUBMISSION_NOT_FOUND', `no submission ${id.slice(0, 80)}`);
      if (result.kind === 'state') {
        if (result.row.state === target) return api(result.row);
        throw wrong(result.row);
      }
      core.log(`review: ${row.plugin} ${row.version} (${row.id}) ${row.state} -> ${target}`);
      return api(result.row);
    },

    async publish(req) {
      const id = (req.params as { id: string }).id;
      const channel = jsonObject<{ channel: unknown }>(req).channel ?? 'stable';
      if (channel !== 'stable' && channel !== 'beta') {
        throw new ApiError(400, 'INVALID_CHANNEL', 'channel must be "stable" or "beta"');
      }
      const row = visible(req, await meta.submission(id), id);
      notPublishable(row, channel);
      if (row.state === 'published') return api(row);
      const t = iso();
      // The version is published, not one archive: every platform variant, each counter-signed as its own archive, at once.
      const others = (await otherVariants(core, row)).filter((r) => r.state !== 'published');
      const result = await publishVersion(core, [row, ...others], channel, t);
      if (!result) throw new ApiError(404, 'SUBMISSION_NOT_FOUND', `no submission ${id.slice(0, 80)}`);
      if (result.kind === 'state') {
        if (result.row.id !== row.id) {
          const v = result.row;
          throw new ApiError(
            409,
            'NOT_APPROVED',
            `${v.plugin} ${v.version} for ${v.platform} is ${v.state}, not approved; nothing of the version was published`,
            {
              state: v.state,
            },
          );
        }
        notPublishable(result.row, channel);
        return api(result.row);
      }
      core.log(`publish: ${row.plugin} ${row.version} (${row.id}) on ${channel}`);
      // The static registry (serve --index-to) holds the version before the answer says it is published.
      await core.afterPublish?.(row.plugin);
      return api(result.row);
    },
  };
}
