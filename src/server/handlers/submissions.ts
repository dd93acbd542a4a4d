/**
 * Reading submissions, reviewing and publishing them. Roles are checked by
 * the auth plugin; these check ownership and state.
 */
import type { FastifyRequest } from 'fastify';
import { callerOf, type RouteHandlers, type ServerCore } from '../core.js';
import { STATES, type State, type SubmissionRow } from '../db.js';
import { ApiError } from '../errors.js';
import { checkName, toApi } from './values.js';

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

export function submissionHandlers(core: ServerCore): RouteHandlers<'listPluginSubmissions' | 'listSubmissions' | 'getSubmission' | 'review' | 'publish'> {
  const { db } = core;
  const iso = () => new Date(core.now()).toISOString();
  const api = (r: SubmissionRow) => toApi(r, core.attestations.summaryOf(r.id));
  return {
    async listPluginSubmissions(req) {
      const name = checkName((req.params as { name: string }).name);
      const plugin = db.plugin(name);
      const caller = callerOf(req);
      if (plugin && caller.role === 'developer' && plugin.owner !== caller.user) {
        throw new ApiError(403, 'NOT_OWNER', `plugin ${name} belongs to another developer`);
      }
      return { submissions: db.submissions({ plugin: name }).map(api) };
    },

    async listSubmissions(req) {
      const q = req.query as { state?: string };
      if (q.state !== undefined && !STATES.includes(q.state as State)) {
        throw new ApiError(400, 'INVALID_STATE', `unknown state "${String(q.state).slice(0, 40)}" (one of ${STATES.join(', ')})`);
      }
      const caller = callerOf(req);
      const rows = db.submissions({
        owner: caller.role === 'developer' ? caller.user : undefined,
        state: q.state as State | undefined,
      });
      return { submissions: rows.map(api) };
    },

    async getSubmission(req) {
      const id = (req.params as { id: string }).id;
      return api(visible(req, db.submission(id), id));
    },

    async review(req) {
      const id = (req.params as { id: string }).id;
      const { decision, notes } = parseReview(req);
      const row = visible(req, db.submission(id), id);
      const target: State = decision === 'approve' ? 'approved' : decision === 'reject' ? 'rejected' : 'in_review';
      if (row.state === target) return api(row);
      const from: State[] = decision === 'claim' ? ['pending'] : ['pending', 'in_review'];
      if (!from.includes(row.state)) {
        throw new ApiError(409, 'WRONG_STATE', `submission ${row.id} is ${row.state}; cannot ${decision} it`, {
          state: row.state,
        });
      }
      const updated = db.update(row.id, {
        state: target,
        notes: decision === 'claim' ? row.notes : notes || null,
        reviewer: callerOf(req).user,
        updated_at: iso(),
      });
      core.log(`review: ${row.plugin} ${row.version} (${row.id}) ${row.state} -> ${target}`);
      return api(updated);
    },

    async publish(req) {
      const id = (req.params as { id: string }).id;
      const channel = jsonObject<{ channel: unknown }>(req).channel ?? 'stable';
      if (channel !== 'stable' && channel !== 'beta') {
        throw new ApiError(400, 'INVALID_CHANNEL', 'channel must be "stable" or "beta"');
      }
      const row = visible(req, db.submission(id), id);
      if (row.state === 'published') {
        if (row.channel === channel) return api(row);
        throw new ApiError(409, 'ALREADY_PUBLISHED', `${row.plugin} ${row.version} is already published on the ${row.channel} channel`, { state: row.state });
      }
      if (row.state !== 'approved') {
        throw new ApiError(409, 'NOT_APPROVED', `${row.plugin} ${row.version} is ${row.state}, not approved; only an approved submission can be published`, {
          state: row.state,
        });
      }
      // A publisher key revoked since the upload blocks the publish; the marketplace counter-signs what it publishes.
      core.signing.checkPublish(row);
      const t = iso();
      const counter = await core.signing.counterSign(row, t, core.store.pathOf(row.sha256));
      const attested = core.attestations.counterSign(row, t);
      const updated = db.db.transaction(() => {
        core.signing.recordCounterSignature(row, counter);
        core.attestations.recordCounterSignature(row, attested);
        return db.update(row.id, { state: 'published', channel: channel, published_at: t, updated_at: t });
      })();
      core.log(`publish: ${row.plugin} ${row.version} (${row.id}) on ${channel}`);
      // The static registry (serve --index-to) holds the version before the answer says it is published.
      await core.afterPublish?.(row.plugin);
      return api(updated);
    },
  };
}
