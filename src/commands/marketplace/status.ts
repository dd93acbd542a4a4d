/**
 * `marketplace status [id]`: one submission, or every submission of the
 * current plugin. With --wait, poll (with backoff) until the submission of
 * the id, or of the current version, is approved, rejected or published:
 * exit 0 approved/published, 1 rejected (with the notes), 3 on timeout.
 */
import { attestationLines } from '../../marketplace/attestations.js';
import type { Ctx } from '../../io/context.js';
import { NetworkError, WorkFailedError, type CliError } from '../../errors.js';
import type { Submission } from '../../marketplace/client.js';
import { currentTarget } from '../../marketplace/project.js';
import { withSession } from '../../marketplace/session.js';
import { waitText } from '../../marketplace/retry.js';
import { parseDiff, reviewLines } from '../../release/diff.js';
import { dependencyLines, parseDependencyDiff } from '../../release/deps-diff.js';
import { block, inline } from '../../io/terminal.js';

export interface StatusOptions {
  id?: string;
  wait?: boolean;
  /** Seconds to wait with --wait. */
  timeout?: number;
}

/** Also the --json document: `{ submission, waited }` or `{ plugin, submissions }`. */
export type StatusResult = { submission: Submission; waited: boolean } | { plugin: string; submissions: Submission[] };

/** web-ext waits 15 minutes for approval by default; so do we. */
export const DEFAULT_WAIT_TIMEOUT_S = 900;
export const POLL_INTERVAL_MS = 1000;
export const MAX_POLL_INTERVAL_MS = 15_000;

export async function run(opts: StatusOptions, ctx: Ctx): Promise<StatusResult> {
  const { plugin, version } = await currentTarget(ctx, opts.id);
  // Without --wait, --timeout bounds the look-up itself.
  const limit = !opts.wait && opts.timeout ? { requestDeadlineMs: Math.round(opts.timeout * 1000) } : {};
  return withSession(ctx, { token: 'required', client: limit }, async ({ client }) => {
    if (!opts.wait) {
      if (opts.id) return { submission: await client.getSubmission(opts.id), waited: false };
      return { plugin: plugin!, submissions: await client.listSubmissions(plugin!) };
    }
    let id = opts.id;
    if (!id) {
      const mine = (await client.listSubmissions(plugin!)).find((s) => s.version === version);
      if (!mine) {
        throw new WorkFailedError(`${plugin} ${version} has not been submitted`, {
          code: 'NOT_SUBMITTED',
          hint: 'run `plexichat-plugin marketplace submit` first',
        });
      }
      id = mine.id;
    }
    const timeoutMs = Math.round((opts.timeout ?? DEFAULT_WAIT_TIMEOUT_S) * 1000);
    let lastState: string | undefined;
    const { submission, timedOut, outage } = await client.waitForFinal(id, {
      timeoutMs,
      intervalMs: POLL_INTERVAL_MS,
      maxIntervalMs: MAX_POLL_INTERVAL_MS,
      onPoll: (s) => {
        if (s.state !== lastState) {
          lastState = s.state;
          ctx.out.info(inline(`${s.id}: ${s.state}`));
        }
      },
      // One line per outage, not one per poll.
      onOutage: (err, leftMs) => ctx.out.warn(`${err.message}; waiting for it to answer again (up to ${waitText(leftMs)} more, the --timeout)`),
    });
    if (timedOut) throw waitTimeout(submission, opts.timeout ?? DEFAULT_WAIT_TIMEOUT_S, outage && { ...outage, forMs: ctx.clock.now() - outage.sinceMs });
    return { submission, waited: true };
  });
}

/** The end of a --wait that ran out of time; while the marketplace was down, it says so and since when. */
function waitTimeout(s: Submission, timeoutS: number, outage: { error: CliError; forMs: number } | undefined): NetworkError {
  const why = outage ? `: the marketplace has not answered for ${waitText(outage.forMs)} (${outage.error.message})` : '';
  return new NetworkError(`timed out after ${timeoutS}s waiting for the review of ${s.id} (still ${s.state}${outage ? ' when last seen' : ''})${why}`, {
    code: 'WAIT_TIMEOUT',
    hint: `${outage ? 'check that the marketplace is running, then check' : 'check'} again later with \`plexichat-plugin marketplace status ${s.id} --wait\``,
    details: { id: s.id, state: s.state, ...(outage ? { unreachableForMs: outage.forMs, cause: outage.error.code } : {}) },
  });
}

function line(s: Submission): string {
  const when = s.updated_at ? `  ${s.updated_at}` : '';
  const ch = s.channel ? ` (${s.channel})` : '';
  // Every field comes from the server: one line, whatever it holds.
  return inline(`${s.id}  ${s.plugin} ${s.version}  ${s.state}${ch}${when}`);
}

/** The permission diff the marketplace recorded for the submission, as the reviewer reads it. */
function diffOf(s: Submission, ctx: Ctx, indent: string): void {
  const d = parseDiff(s.permission_diff);
  if (!d) return;
  const accepted = Array.isArray(s.accepted_permissions) ? s.accepted_permissions.filter((x): x is string => typeof x === 'string') : [];
  for (const l of reviewLines(d, accepted)) ctx.out.result(inline(`${indent}${l}`));
  const deps = parseDependencyDiff((s.permission_diff as { dependencies?: unknown } | null | undefined)?.dependencies);
  if (deps && !deps.unchanged) for (const l of dependencyLines(deps)) ctx.out.result(inline(`${indent}  ${l}`));
}

export function render(r: StatusResult, ctx: Ctx): void {
  if ('submissions' in r) {
    if (r.submissions.length === 0) {
      ctx.out.result(inline(`No submissions of ${r.plugin} yet.`));
      ctx.out.info('next: plexichat-plugin marketplace submit');
      return;
    }
    for (const s of r.submissions) {
      ctx.out.result(line(s));
      if (s.state === 'rejected' && s.notes) ctx.out.result(block('    notes: ', s.notes));
      if (s.state === 'pending' || s.state === 'in_review') diffOf(s, ctx, '    ');
    }
    return;
  }
  const s = r.submission;
  ctx.out.result(line(s));
  for (const l of attestationLines(s.attestations)) ctx.out.result(inline(`  ${l}`));
  diffOf(s, ctx, '  ');
  if (s.notes) ctx.out.result(block('  reviewer notes: ', s.notes));
  if (s.state === 'approved') ctx.out.info(inline(`next: plexichat-plugin marketplace publish ${s.id}`));
  if (s.state === 'rejected') {
    if (r.waited) ctx.out.error(`${s.plugin} ${s.version} was rejected`);
    ctx.out.info('fix what the reviewer says, bump the version, build and submit again');
  }
}

export function exitCode(r: StatusResult): number {
  // Only a --wait that ends in a rejection fails; a plain look-up succeeds whatever the state.
  return 'submission' in r && r.waited && r.submission.state === 'rejected' ? 1 : 0;
}
