/**
 * `marketplace prepare`: build the listing for the current plugin version
 * and write it next to the archive (dist/<name>-<version>.listing.json).
 * When something is missing it writes nothing and lists every problem.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Ctx } from '../../context.js';
import { buildListing, serialiseListing, type Listing, type ListingProblem } from '../../core/listing.js';
import { writeFileAtomic } from '../../marketplace/atomic.js';
import { currentManifest } from '../../marketplace/project.js';

export interface PrepareResult {
  ok: boolean;
  name: string;
  version: string;
  /** Path of the listing file, relative to the project. */
  listingFile?: string;
  archive: { file: string; sha256?: string; size?: number };
  problems: ListingProblem[];
  listing?: Listing;
  /** False when the file already held exactly this listing. */
  written?: boolean;
}

/** Shared with submit: build, check and (when complete) write the listing. */
export async function prepareListing(
  ctx: Ctx,
): Promise<PrepareResult & { listingPath: string; archivePath: string; digestFrom?: 'sidecar' | 'hashed' }> {
  const manifest = await currentManifest(ctx);
  const built = await buildListing(ctx.cwd, manifest);
  const rel = (p: string) => path.relative(ctx.cwd, p).split(path.sep).join('/');
  const base = {
    name: manifest.plugin.name,
    version: manifest.plugin.version,
    archive: { file: rel(built.paths.archive), sha256: built.listing?.archive.sha256, size: built.listing?.archive.size },
    problems: built.problems,
    listingPath: built.paths.listing,
    archivePath: built.paths.archive,
    digestFrom: built.digestFrom,
  };
  if (!built.listing) return { ok: false, ...base };
  const text = serialiseListing(built.listing);
  const current = await fs.readFile(built.paths.listing, 'utf8').catch(() => undefined);
  if (current !== text) await writeFileAtomic(built.paths.listing, text);
  return { ok: true, ...base, listingFile: rel(built.paths.listing), listing: built.listing, written: current !== text };
}

export async function run(_opts: unknown, ctx: Ctx): Promise<PrepareResult> {
  const { listingPath: _l, archivePath: _a, digestFrom: _d, ...result } = await prepareListing(ctx);
  return result;
}

export function renderProblems(r: PrepareResult, ctx: Ctx): void {
  ctx.out.error(
    `the listing for ${r.name} ${r.version} is not ready: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`,
  );
  for (const p of r.problems) {
    ctx.out.note(`  - ${p.message}\n    ${ctx.out.c.dim(`fix: ${p.hint}`)}`);
  }
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
