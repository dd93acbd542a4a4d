/**
 * `version <patch|minor|major|X.Y.Z> [--pre ID] [--note TEXT]... [--git] [--dry-run]`:
 * bump plugin.version in config/plugin.yaml (only that scalar changes, byte
 * for byte), add a dated CHANGELOG.md section, and with --git commit and tag.
 *
 * Every check runs before anything is written: the new version is greater
 * than the current one and, when a marketplace is configured and
 * reachable, than the latest published one; with --git the tree is clean,
 * the tag is absent and git can commit. A refusal changes nothing; a write
 * or commit that fails puts both files back.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import type { Ctx } from '../context.js';
import { UsageError, WorkFailedError, errnoCode, type CliError } from '../errors.js';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES } from '../core/manifest/types.js';
import { writeFileAtomic } from '../marketplace/atomic.js';
import { BumpError, locateVersion, nextVersion, replaceVersion } from '../release/bump.js';
import { addRelease, ChangelogError, isoDate, type ChangelogAction } from '../release/changelog.js';
import { latestPublished } from '../release/published.js';

export interface VersionOptions {
  bump: string;
  pre?: string;
  note?: string[];
  git?: boolean;
  dryRun?: boolean;
}

export interface VersionResult {
  plugin: string;
  from: string;
  to: string;
  dryRun: boolean;
  manifest: { file: string; line: number };
  changelog: { file: string; action: ChangelogAction; heading: string; empty: boolean };
  /** The comparison with the marketplace: checked, or why not. */
  published: { checked: true; marketplace: string; latest: string | null } | { checked: false; reason: string };
  git?: { commit?: string; tag: string };
}

export const CHANGELOG_PATH = 'CHANGELOG.md';

function fail(e: BumpError | ChangelogError | { message: string; code: string; hint: string }, usage = false): CliError {
  const opts = { code: e.code, hint: e.hint };
  return usage || (e instanceof BumpError && e.usage) ? new UsageError(e.message, opts) : new WorkFailedError(e.message, opts);
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    throw new WorkFailedError(`cannot read ${path.basename(file)} (${code ?? (err as Error).message})`, { code: 'READ_FAILED', hint: 'check the file permissions' });
  }
}

/** The date of the changelog section: SOURCE_DATE_EPOCH when set (reproducible releases), else today (UTC). */
function releaseDate(ctx: Ctx): string {
  const epoch = ctx.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && epoch !== '') {
    if (!/^\d+$/.test(epoch.trim())) {
      throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got ${JSON.stringify(epoch)}`, { hint: 'unset it, or set it to e.g. $(git log -1 --format=%ct)' });
    }
    return isoDate(Number(epoch) * 1000);
  }
  return isoDate(ctx.clock.now());
}

export async function run(opts: VersionOptions, ctx: Ctx): Promise<VersionResult> {
  const manifestFile = path.join(ctx.cwd, MANIFEST_PATH);
  const changelogFile = path.join(ctx.cwd, CHANGELOG_PATH);

  // 1. The manifest and the new version (nothing is written before step 5).
  const raw = await readOptional(manifestFile);
  if (raw === undefined) {
    throw new WorkFailedError(`${MANIFEST_PATH} not found in ${ctx.cwd}`, {
      code: 'MANIFEST_NOT_FOUND',
      hint: 'run this in a plugin directory (or pass -C <dir>)',
    });
  }
  if (raw.length > MAX_MANIFEST_BYTES) {
    throw new WorkFailedError(`${MANIFEST_PATH} is larger than ${MAX_MANIFEST_BYTES} bytes`, { code: 'MANIFEST_TOO_LARGE', hint: 'run `plexichat-plugin validate`' });
  }
  const text = raw.toString('utf8');
  let to: string;
  let from: string;
  let edited: string;
  let line: number;
  let name: string;
  try {
    const loc = locateVersion(text);
    if (typeof loc.value !== 'string') {
      throw new BumpError(
        `${MANIFEST_PATH}:${loc.line}:${loc.column}: plugin.version is ${JSON.stringify(loc.value)}, not a quoted version string`,
        'VERSION_INVALID',
        'quote it: version: "1.0.0" (YAML reads 1.10 as the number 1.1)',
        false,
      );
    }
    from = loc.value;
    to = nextVersion(from, opts.bump, opts.pre);
    edited = replaceVersion(text, loc, to);
    line = loc.line;
    const { parseManifest } = await import('../core/manifest/index.js');
    const parsed = parseManifest(edited, MANIFEST_PATH);
    name = String((parsed.data?.plugin as { name?: unknown } | undefined)?.name ?? '');
  } catch (err) {
    if (err instanceof BumpError) throw fail(err);
    throw err;
  }

  // 2. The changelog, computed in memory.
  const changelogRaw = await readOptional(changelogFile);
  let changelog: ReturnType<typeof addRelease>;
  try {
    changelog = addRelease(changelogRaw?.toString('utf8'), to, releaseDate(ctx), opts.note ?? []);
  } catch (err) {
    if (err instanceof ChangelogError) throw fail(err);
    throw err;
  }

  // 3. The marketplace: the new version must exceed what is published there.
  let published: VersionResult['published'];
  if (!name) published = { checked: false, reason: 'the manifest has no plugin.name' };
  else {
    const found = await latestPublished(ctx, name);
    if (found.state === 'unavailable') {
      published = { checked: false, reason: found.reason };
      if (found.code === 'UNREACHABLE') ctx.out.warn(`not compared with the published version: ${found.reason}`);
    } else {
      const latest = found.state === 'found' ? found.version : null;
      if (latest && !semver.gt(to, latest)) {
        throw new WorkFailedError(`${to} is not greater than ${latest}, the latest published version of ${name} on ${found.marketplace}`, {
          code: 'VERSION_NOT_NEWER_THAN_PUBLISHED',
          hint: `pass a version above ${latest}, e.g. plexichat-plugin version ${semver.inc(latest, 'patch')}`,
          details: { published: latest, requested: to },
        });
      }
      published = { checked: true, marketplace: found.marketplace, latest };
    }
  }

  // 4. git: clean tree, tag absent, identity known.
  const tag = `v${to}`;
  let plan: Awaited<ReturnType<typeof import('../release/git.js').checkGit>> | undefined;
  const gitMod = opts.git ? await import('../release/git.js') : undefined;
  if (gitMod) {
    try {
      plan = await gitMod.checkGit(ctx.cwd, ctx.env, tag);
    } catch (err) {
      if (err instanceof gitMod.GitError) throw fail(err);
      throw err;
    }
  }

  const result: VersionResult = {
    plugin: name,
    from,
    to,
    dryRun: Boolean(opts.dryRun),
    manifest: { file: MANIFEST_PATH, line },
    changelog: { file: CHANGELOG_PATH, action: changelog.action, heading: changelog.heading, empty: changelog.empty },
    published,
    ...(opts.git ? { git: { tag } } : {}),
  };
  if (opts.dryRun) return result;

  // 5. Write both files; on any failure put back what was there.
  const mode = (await fs.stat(manifestFile)).mode & 0o777;
  const changelogMode = changelogRaw ? (await fs.stat(changelogFile)).mode & 0o777 : 0o644;
  const written: string[] = [];
  /** Put the files back as they were; false when that failed too. */
  const restore = async (): Promise<boolean> => {
    try {
      if (written.includes(manifestFile)) await writeFileAtomic(manifestFile, raw, { mode });
      if (written.includes(changelogFile)) {
        if (changelogRaw) await writeFileAtomic(changelogFile, changelogRaw, { mode: changelogMode });
        else await fs.rm(changelogFile, { force: true });
      }
      return true;
    } catch {
      return false;
    }
  };
  const undone = async (err: CliError | Error, code: string, hint: string): Promise<never> => {
    const ok = await restore();
    throw new WorkFailedError(
      `${err.message}; ${ok ? 'nothing was changed' : `and ${MANIFEST_PATH} or ${CHANGELOG_PATH} could not be put back: check them with git diff`}`,
      { code, hint, cause: err },
    );
  };
  try {
    await writeFileAtomic(manifestFile, edited, { mode });
    written.push(manifestFile);
    if (changelog.action !== 'kept') {
      await writeFileAtomic(changelogFile, changelog.text, { mode: changelogMode });
      written.push(changelogFile);
    }
  } catch (err) {
    const e = err as CliError;
    return undone(e, e.code ?? 'WRITE_FAILED', e.hint ?? 'check the permissions and free space');
  }
  if (plan && gitMod) {
    const files = written;
    try {
      result.git = await gitMod.commitAndTag(plan, files, `${name || 'plugin'} ${to}`, ctx.env);
    } catch (err) {
      // A commit that exists stays (the message says so); anything before it is undone.
      if (err instanceof gitMod.GitError && err.code === 'GIT_TAG_FAILED') throw fail(err);
      await gitMod.unstage(plan, files, ctx.env);
      if (err instanceof gitMod.GitError) return undone(err, err.code, err.hint);
      throw err;
    }
  }
  return result;
}

export function render(r: VersionResult, ctx: Ctx): void {
  const { out } = ctx;
  const verb = r.dryRun ? 'would bump' : 'bumped';
  out.result(`${out.c.green('✔')} ${r.plugin} ${verb} ${r.from} -> ${r.to}${r.dryRun ? ' (dry run, nothing written)' : ''}`);
  out.result(`  ${r.manifest.file}:${r.manifest.line}  version: ${r.to}`);
  const what: Record<ChangelogAction, string> = {
    created: 'created with',
    inserted: 'new section',
    unreleased: '[Unreleased] became',
    kept: 'kept the existing section',
  };
  out.result(`  ${r.changelog.file}  ${what[r.changelog.action]} ${r.changelog.heading}`);
  if (r.published.checked) {
    out.result(`  marketplace  ${r.published.latest ? `latest published ${r.published.latest}` : 'nothing published yet'}`);
  } else {
    out.info(`  marketplace  not compared: ${r.published.reason}`);
  }
  if (r.git) out.result(`  git  ${r.git.commit ? `committed ${r.git.commit.slice(0, 12)}, tagged ${r.git.tag}` : `would commit and tag ${r.git.tag}`}`);
  if (r.changelog.empty) out.warn(`the CHANGELOG.md section for ${r.to} is empty; add notes (--note) before submitting: marketplace prepare refuses an empty section`);
}
