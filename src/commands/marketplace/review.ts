/**
 * `marketplace review <id> --approve|--reject --notes <text>`: the
 * reviewer's decision (a reviewer token is needed; a developer token gets
 * 403 and exit 4).
 */
import type { Ctx } from '../../io/context.js';
import { UsageError } from '../../errors.js';
import type { Submission } from '../../marketplace/client.js';
import { withSession } from '../../marketplace/session.js';
import { inline } from '../../io/terminal.js';

export interface ReviewOptions {
  id: string;
  approve?: boolean;
  reject?: boolean;
  notes?: string;
}

export interface ReviewResult {
  submission: Submission;
  decision: 'approve' | 'reject';
}

export async function run(opts: ReviewOptions, ctx: Ctx): Promise<ReviewResult> {
  if (Boolean(opts.approve) === Boolean(opts.reject)) {
    throw new UsageError('give exactly one of --approve and --reject', {
      hint: 'e.g. `plexichat-plugin marketplace review <id> --approve --notes "Looks good"`',
    });
  }
  const decision = opts.approve ? 'approve' : 'reject';
  const notes = opts.notes?.trim();
  if (decision === 'reject' && !notes) {
    throw new UsageError('--reject needs --notes saying what to fix', {
      hint: 'e.g. `--reject --notes "declare analytics_read in permissions"`',
    });
  }
  if (notes && notes.length > 10_000) throw new UsageError('--notes is longer than 10000 characters', { hint: 'shorten the notes' });
  return withSession(ctx, { token: 'required' }, async ({ client }) => ({
    submission: await client.review(opts.id, decision, notes),
    decision,
  }));
}

export function render(r: ReviewResult, ctx: Ctx): void {
  const s = r.submission;
  ctx.out.result(inline(`${s.id} (${s.plugin} ${s.version}) is now ${s.state}.`));
}
