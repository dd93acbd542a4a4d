/**
 * Ctrl-C (SIGINT/SIGTERM) during `marketplace submit`, said as it is. What
 * the marketplace may hold depends on how far the upload got:
 *
 * - before any attempt began: nothing was sent;
 * - while the body is being sent: the marketplace keeps nothing of an
 *   upload that did not arrive whole, so the upload stops at once;
 * - once some attempt has sent every byte: the marketplace may be checking
 *   and storing it. The CLI then waits up to ANSWER_GRACE_MS for the
 *   answer (a second Ctrl-C stops at once): an answer gives the submission
 *   id; no answer ends with "it may exist" and how to find out. Re-running
 *   with the same archive is safe either way: the marketplace answers an
 *   upload of the same name, version and sha256 with the submission it has.
 *
 * The guard's signal replaces ctx.signal for the upload's client.
 */
import type { Ctx } from '../io/context.js';
import { CancelledError } from '../errors.js';
import { waitText } from './retry.js';
import { inline } from '../io/terminal.js';

/** How long an interrupted submit waits for the answer to a body it has sent in full. */
export const ANSWER_GRACE_MS = 5000;

export interface UploadFacts {
  plugin: string;
  version: string;
  sha256: string;
}

export class UploadCancelGuard {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  /** An attempt has begun sending. */
  private started = false;
  /** Some attempt handed every byte of the body to the connection. */
  private bodySent = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly graceMs = ANSWER_GRACE_MS,
  ) {
    this.signal = this.controller.signal;
    if (ctx.signal.aborted) this.controller.abort(ctx.signal.reason);
    else ctx.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Progress of the current attempt (`sent` of `total` bytes). */
  progress(sent: number, total: number): void {
    this.started = true;
    if (total > 0 && sent >= total) this.bodySent = true;
  }

  /** The answer came although Ctrl-C was pressed while it was awaited: say the submission was made. */
  answered(id: string): void {
    if (this.ctx.signal.aborted && !this.signal.aborted) {
      this.ctx.out.info(inline(`the marketplace answered after Ctrl-C: submission ${id} exists`));
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.ctx.signal.removeEventListener('abort', this.onAbort);
  }

  /** The error a cancelled upload ends with, saying what the marketplace may hold; other errors unchanged. */
  explain(err: unknown, facts: UploadFacts): unknown {
    if (!(err instanceof CancelledError)) return err;
    const what = `${facts.plugin} ${facts.version}`;
    const details = { plugin: facts.plugin, version: facts.version, sha256: facts.sha256, archiveSent: this.bodySent };
    if (this.bodySent) {
      return new CancelledError(
        `Cancelled after the archive was sent: the marketplace did not answer within ${waitText(this.graceMs)}, and may have stored ${what}`,
        {
          details,
          hint:
            'see whether it did with `plexichat-plugin marketplace status`; running submit again with the same archive is safe: ' +
            'the marketplace answers with the submission it has instead of making a second one',
        },
      );
    }
    if (this.started) {
      return new CancelledError(`Cancelled during the upload of ${what}, before the archive was all sent: the marketplace keeps nothing of it`, {
        details,
        hint: 'run `plexichat-plugin marketplace submit` again to upload it',
      });
    }
    return err;
  }

  private readonly onAbort = (): void => {
    if (!this.bodySent) {
      this.controller.abort(this.ctx.signal.reason);
      return;
    }
    this.ctx.out.warn(
      `Ctrl-C: the archive was sent; waiting up to ${waitText(this.graceMs)} for the marketplace's answer ` +
        '(Ctrl-C again stops now; the submission may then exist: `plexichat-plugin marketplace status` shows it)',
    );
    this.timer = setTimeout(() => this.controller.abort(this.ctx.signal.reason), this.graceMs);
    this.timer.unref?.();
  };
}
