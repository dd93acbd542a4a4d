/**
 * `marketplace submit`: prepare the listing for the current version (as
 * `prepare` does), then stream the archive and listing to the marketplace.
 * One Idempotency-Key per run makes retries safe; the whole command ends
 * by --timeout. Re-running with the same archive finds the existing
 * submission (exit 0); the same version with another archive is refused.
 */
import { randomUUID } from 'node:crypto';
import type { Ctx } from '../../context.js';
import { isCI } from '../../context.js';
import { CliError, WorkFailedError } from '../../errors.js';
import { formatBytes } from '../../io/bytes.js';
import type { RetryInfo, Submission } from '../../marketplace/client.js';
import { withSession } from '../../marketplace/session.js';
import { fileDigest } from '../../core/digest.js';
import { prepareListing, renderProblems } from './prepare.js';

export interface SubmitOptions {
  /** Seconds for the whole upload, retries included. */
  timeout?: number;
}

export interface SubmitResult {
  id: string;
  state: Submission['state'];
  /** True when this exact archive had been submitted before: nothing new was created. */
  existing: boolean;
  plugin: string;
  version: string;
  sha256: string;
  size: number;
  marketplace: string;
  listingFile: string;
  attempts: number;
  submission: Submission;
}

export const DEFAULT_SUBMIT_TIMEOUT_S = 600;

interface Progress {
  update(sent: number, total: number, attempt: number): void;
  stop(): void;
}

/** A bar on a TTY (cli-progress, loaded only then), plain lines otherwise. */
async function progressFactory(ctx: Ctx, label: string): Promise<(total: number) => Progress> {
  if (ctx.out.canAnimate && !isCI(ctx.env)) {
    const { SingleBar, Presets } = await import('cli-progress');
    return (total) => {
    const bar = new SingleBar(
      {
        stream: ctx.out.stderr,
        format: `uploading ${label} {bar} {percentage}% | {sentText} of {totalText} | {speed}`,
        hideCursor: true,
        clearOnComplete: true,
        barsize: 24,
        fps: 10,
      },
      Presets.shades_classic,
    );
    const started = ctx.clock.now();
    bar.start(total, 0, { sentText: formatBytes(0), totalText: formatBytes(total), speed: '' });
    return {
      update(sent) {
        const secs = Math.max(0.001, (ctx.clock.now() - started) / 1000);
        const speed = sent >= total ? 'sent; the marketplace is checking it' : `${formatBytes(sent / secs)}/s`;
        bar.update(sent, { sentText: formatBytes(sent), totalText: formatBytes(total), speed });
      },
      stop() {
        bar.stop();
      },
    };
    };
  }
  // No TTY: a few plain lines, so CI logs show the upload is alive.
  return (total) => {
  ctx.out.info(`uploading ${label} (${formatBytes(total)})`);
  let lastQuarter = 0;
  return {
    update(sent, t) {
      const quarter = Math.floor((sent / t) * 4);
      if (quarter > lastQuarter && t > 4 * 1024 * 1024) {
        lastQuarter = quarter;
        ctx.out.info(quarter < 4 ? `  ${quarter * 25}% (${formatBytes(sent)})` : '  sent; the marketplace is checking the archive');
      }
    },
    stop() {
      /* nothing to clear */
    },
  };
  };
}

export async function run(opts: SubmitOptions, ctx: Ctx): Promise<SubmitResult> {
  const timeoutMs = Math.round((opts.timeout ?? DEFAULT_SUBMIT_TIMEOUT_S) * 1000);
  let bar: Progress | undefined;
  const onRetry = (r: RetryInfo) => {
    bar?.stop();
    bar = undefined;
    ctx.out.warn(`${r.reason} on attempt ${r.attempt} of ${r.maxAttempts}; retrying in ${(r.delayMs / 1000).toFixed(1)}s`);
  };
  return withSession(ctx, { token: 'required', client: { onRetry } }, async ({ client, target }) => {
    const t0 = ctx.clock.now();
    const prep = await prepareListing(ctx);
    ctx.out.debug(
      `listing ready in ${ctx.clock.now() - t0} ms (sha256 ${prep.digestFrom === 'sidecar' ? "from build's .sha256 file" : 'computed'})`,
    );
    if (!prep.ok || !prep.listing) {
      if (!ctx.flags.json) renderProblems(prep, ctx);
      throw new WorkFailedError(`cannot submit ${prep.name} ${prep.version}: the listing is not ready`, {
        code: 'LISTING_INCOMPLETE',
        hint: 'fix the problems listed above, then run submit again (`plexichat-plugin marketplace prepare` checks without uploading)',
        details: { problems: prep.problems },
      });
    }
    const listing = prep.listing;
    if (prep.written) ctx.out.info(`listing written to ${prep.listingFile}`);
    const label = listing.archive.file;
    const makeBar = await progressFactory(ctx, label);
    const key = randomUUID();
    ctx.out.debug(`Idempotency-Key ${key}`);
    let lastAttempt = 0;
    const t1 = ctx.clock.now();
    try {
      const res = await client.submit({
        name: listing.name,
        version: listing.version,
        archivePath: prep.archivePath,
        archiveSize: listing.archive.size,
        sha256: listing.archive.sha256,
        listing,
        timeoutMs,
        idempotencyKey: key,
        rehash: async () => (await fileDigest(prep.archivePath)).sha256,
        onProgress: (sent, total, attempt) => {
          if (attempt !== lastAttempt) {
            lastAttempt = attempt;
            bar?.stop();
            bar = makeBar(total);
          }
          bar?.update(sent, total, attempt);
        },
      });
      bar?.stop();
      const s = res.submission;
      const secs = Math.max(0.001, (ctx.clock.now() - t1) / 1000);
      ctx.out.debug(`upload and checks took ${secs.toFixed(2)} s (${formatBytes(listing.archive.size / secs)}/s), ${res.attempts} attempt(s)`);
      return {
        id: s.id,
        state: s.state,
        existing: res.existing,
        plugin: listing.name,
        version: listing.version,
        sha256: listing.archive.sha256,
        size: listing.archive.size,
        marketplace: target.baseUrl,
        listingFile: prep.listingFile!,
        attempts: res.attempts,
        submission: s,
      };
    } catch (err) {
      bar?.stop();
      if (err instanceof CliError && err.code === 'VERSION_EXISTS') {
        const rid = typeof err.details?.requestId === 'string' ? ` (request id ${err.details.requestId})` : '';
        throw new WorkFailedError(
          `version ${listing.version} of ${listing.name} was already submitted with a different archive; bump the version${rid}`,
          {
            code: 'VERSION_EXISTS',
            hint: 'a version is never replaced: raise plugin.version in config/plugin.yaml, add its CHANGELOG.md entry, build and submit again',
            details: err.details,
          },
        );
      }
      throw err;
    }
  });
}

export function render(r: SubmitResult, ctx: Ctx): void {
  if (r.existing) {
    ctx.out.result(`${r.plugin} ${r.version} was already submitted with this archive: ${r.id} (${r.state}). Nothing new was created.`);
  } else {
    ctx.out.result(`Submitted ${r.plugin} ${r.version} for review: ${r.id} (${r.state}).`);
  }
  if (r.state === 'approved') ctx.out.info(`next: plexichat-plugin marketplace publish ${r.id}`);
  else if (r.state !== 'published') ctx.out.info(`next: plexichat-plugin marketplace status ${r.id} --wait`);
}
