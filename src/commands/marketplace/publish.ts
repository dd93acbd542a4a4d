/**
 * `marketplace publish [id] [--channel stable|beta]`: publish an approved
 * submission; without an id, the submission of the current plugin version.
 * A submission that is not approved is refused with exit 1.
 */
import type { Ctx } from '../../io/context.js';
import { WorkFailedError } from '../../errors.js';
import type { Submission } from '../../marketplace/client.js';
import { currentTarget } from '../../marketplace/project.js';
import { withSession } from '../../marketplace/session.js';
import { inline } from '../../io/terminal.js';

export interface PublishOptions {
  id?: string;
  channel?: 'stable' | 'beta';
}

export interface PublishResult {
  submission: Submission;
  /** False when it had already been published on this channel (nothing changed). */
  changed: boolean;
}

function notApproved(s: Submission): WorkFailedError {
  const why =
    s.state === 'rejected' ? `it was rejected${s.notes ? `: ${s.notes}` : ''}` : `it is ${s.state === 'in_review' ? 'in review' : s.state}, not approved`;
  return new WorkFailedError(`cannot publish ${s.plugin} ${s.version} (${s.id}): ${why}`, {
    code: 'NOT_APPROVED',
    hint:
      s.state === 'rejected'
        ? 'fix what the reviewer says, bump the version, build and submit again'
        : `wait for the review: \`plexichat-plugin marketplace status ${s.id} --wait\``,
    details: { id: s.id, state: s.state },
  });
}

export async function run(opts: PublishOptions, ctx: Ctx): Promise<PublishResult> {
  const channel = opts.channel ?? 'stable';
  const { plugin, version } = await currentTarget(ctx, opts.id);
  return withSession(ctx, { token: 'required' }, async ({ client }) => {
    let target: Submission;
    if (opts.id) {
      target = await client.getSubmission(opts.id);
    } else {
      const mine = (await client.listSubmissions(plugin!)).filter((s) => s.version === version);
      const found = mine.find((s) => s.state === 'approved' || s.state === 'published') ?? mine[0];
      if (!found) {
        throw new WorkFailedError(`${plugin} ${version} has not been submitted`, {
          code: 'NOT_SUBMITTED',
          hint: 'run `plexichat-plugin marketplace submit`, and publish once it is approved',
        });
      }
      target = found;
    }
    if (target.state === 'published' && (target.channel ?? 'stable') === channel) {
      return { submission: target, changed: false };
    }
    if (target.state !== 'approved' && target.state !== 'published') throw notApproved(target);
    const submission = await client.publish(target.id, channel);
    return { submission, changed: target.state !== 'published' };
  });
}

export function render(r: PublishResult, ctx: Ctx): void {
  const s = r.submission;
  ctx.out.result(
    inline(
      r.changed
        ? `Published ${s.plugin} ${s.version} on the ${s.channel ?? 'stable'} channel (${s.id}).`
        : `${s.plugin} ${s.version} was already published on the ${s.channel ?? 'stable'} channel (${s.id}).`,
    ),
  );
  ctx.out.info(inline(`see it with: plexichat-plugin marketplace info ${s.plugin}`));
}
