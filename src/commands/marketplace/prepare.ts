/**
 * `marketplace prepare`: build the listing for the current plugin version
 * and write it next to the archive (dist/<name>-<version>.listing.json).
 * When something is missing it writes nothing and lists every problem.
 * The work is src/marketplace/prepare.ts, shared with submit.
 */
import type { Ctx } from '../../io/context.js';
import { prepareListing, renderProblems, renderRefused, type PrepareOptions, type PrepareResult } from '../../marketplace/prepare.js';

export type { PrepareOptions, PrepareResult } from '../../marketplace/prepare.js';

export async function run(opts: PrepareOptions, ctx: Ctx): Promise<PrepareResult> {
  const { listingPath: _l, archivePath: _a, digestFrom: _d, signature: _s, ...result } = await prepareListing(ctx, opts);
  return result;
}

/** The verify findings of a refused archive, before its error line (which names the last error). */
export function renderError(err: unknown, ctx: Ctx): void {
  renderRefused(err, ctx);
}

export function render(r: PrepareResult, ctx: Ctx): void {
  if (!r.ok) return renderProblems(r, ctx);
  const l = r.listing!;
  ctx.out.result(`Wrote ${r.listingFile}`);
  ctx.out.info(`  ${l.name} ${l.version} · ${l.category} · archive ${l.archive.file} (${l.archive.size} bytes, sha256 ${l.archive.sha256.slice(0, 12)}…)`);
  const perms = l.permissions_summary.map((p) => `${p.name}${p.required ? '' : ' (optional)'}`);
  ctx.out.info(`  permissions: ${perms.length ? perms.join(', ') : 'none'}`);
  ctx.out.info('next: plexichat-plugin marketplace submit');
}

export function exitCode(r: PrepareResult): number {
  return r.ok ? 0 : 1;
}
