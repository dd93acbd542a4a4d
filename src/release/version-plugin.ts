/**
 * The operation of `version` for one plugin folder (ctx.cwd): bump
 * plugin.version in config/plugin.yaml (only that scalar changes, byte for
 * byte), add a dated CHANGELOG.md section, and with git commit and tag.
 * The command (commands/version.ts) and a workspace run
 * (workspace/release.ts) both call versionPlugin.
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
import type { Ctx } from '../io/context.js';
import { CliError, UsageError, WorkFailedError, errnoCode } from '../errors.js';
import { fsError } from '../io/fs-errors.js';
import { readRegularFile } from '../io/read-file.js';
import { MANIFEST_PATH, MAX_MANIFEST_BYTES } from '../core/manifest/types.js';
import { writeFileAtomic } from '../marketplace/atomic.js';
import { BumpError, locateVersion, nextVersion, replaceVersion } from './bump.js';
import { addRelease, ChangelogError, isoDate, type ChangelogAction } from './changelog.js';
import { latestPublished } from './published.js';
import { valueText } from '../io/value-text.js';
import { inline } from '../io/terminal.js';

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
  return usage || ((e instanceof BumpError || e instanceof ChangelogError) && e.usage) ? new UsageError(e.message, opts) : new WorkFailedError(e.message, opts);
}

/** Larger than this is not a changelog (read no further). */
const MAX_CHANGELOG_BYTES = 16 * 1024 * 1024;

/**
 * A file version reads and then rewrites, through the one reader (a FIFO,
 * socket, device or folder is refused at once). A symbolic link is followed:
 * `real` is where the new text is written (atomically, beside the target),
 * so the link stays a link and its target gets the change. A link whose
 * target is missing is refused: writing there would replace the link.
 */
async function readTarget(file: string, shown: string, maxBytes: number): Promise<{ raw?: Buffer; real: string }> {
  const link = await fs.lstat(file).catch(() => undefined);
  let real = file;
  if (link?.isSymbolicLink()) {
    try {
      real = await fs.realpath(file);
    } catch (err) {
      const target = await fs.readlink(file).catch(() => '?');
      throw new WorkFailedError(
        `${shown} is a symbolic link to ${target}, which ${errnoCode(err) === 'ENOENT' ? 'does not exist' : `cannot be followed (${errnoCode(err) ?? (err as Error).message})`}`,
        {
          code: 'BROKEN_LINK',
          hint: `create ${target} (the link's target), or replace the link ${shown} with a file`,
        },
      );
    }
  }
  try {
    return { raw: await readRegularFile(real, { shown, maxBytes, over: 'truncate' }), real };
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT') return { real };
    throw fsError(err, `read ${shown}`) ?? err;
  }
}

/** The date of the changelog section: SOURCE_DATE_EPOCH when set (reproducible releases), else today (UTC). */
function releaseDate(ctx: Ctx): string {
  const epoch = ctx.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && epoch !== '') {
    if (!/^\d+$/.test(epoch.trim())) {
      throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got ${JSON.stringify(epoch)}`, {
        hint: 'unset it, or set it to e.g. $(git log -1 --format=%ct)',
      });
    }
    return isoDate(Number(epoch) * 1000);
  }
  return isoDate(ctx.clock.now());
}

/** Step 1: the manifest and the new version, edited in memory (nothing is written before step 5). */
async function planBump(manifestFile: string, opts: VersionOptions, ctx: Ctx) {
  const { raw, real } = await readTarget(manifestFile, MANIFEST_PATH, MAX_MANIFEST_BYTES);
  if (raw === undefined) {
    throw new WorkFailedError(`${MANIFEST_PATH} not found in ${ctx.cwd}`, {
      code: 'MANIFEST_NOT_FOUND',
      hint: 'run this in a plugin directory (or pass -C <dir>)',
    });
  }
  if (raw.length > MAX_MANIFEST_BYTES) {
    throw new WorkFailedError(`${MANIFEST_PATH} is larger than ${MAX_MANIFEST_BYTES} bytes`, {
      code: 'MANIFEST_TOO_LARGE',
      hint: 'run `plexichat-plugin validate`',
    });
  }
  const text = raw.toString('utf8');
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
    const from = loc.value;
    const to = nextVersion(from, opts.bump, opts.pre);
    const edited = replaceVersion(text, loc, to);
    const { parseManifest } = await import('../core/manifest/index.js');
    const parsed = parseManifest(edited, MANIFEST_PATH);
    const name = valueText((parsed.data?.plugin as { name?: unknown } | undefined)?.name ?? '');
    return { raw, real, from, to, edited, line: loc.line, name };
  } catch (err) {
    if (err instanceof BumpError) throw fail(err);
    throw err;
  }
}

/** Step 2: the changelog, computed in memory. */
async function planChangelog(changelogFile: string, to: string, opts: VersionOptions, ctx: Ctx) {
  const { raw, real } = await readTarget(changelogFile, CHANGELOG_PATH, MAX_CHANGELOG_BYTES);
  if (raw && raw.length > MAX_CHANGELOG_BYTES) {
    throw new WorkFailedError(`${CHANGELOG_PATH} is larger than ${MAX_CHANGELOG_BYTES} bytes`, {
      code: 'FILE_TOO_LARGE',
      hint: `check that ${CHANGELOG_PATH} is the changelog`,
    });
  }
  try {
    return { raw, real, changelog: addRelease(raw?.toString('utf8'), to, releaseDate(ctx), opts.note ?? []) };
  } catch (err) {
    if (err instanceof ChangelogError) throw fail(err);
    throw err;
  }
}

/** Step 3: the marketplace: the new version must exceed what is published there. */
async function checkPublished(ctx: Ctx, name: string, to: string): Promise<VersionResult['published']> {
  if (!name) return { checked: false, reason: 'the manifest has no plugin.name' };
  const found = await latestPublished(ctx, name);
  if (found.state === 'unavailable') {
    if (found.code === 'UNREACHABLE') ctx.out.warn(`not compared with the published version: ${found.reason}`);
    return { checked: false, reason: found.reason };
  }
  const latest = found.state === 'found' ? found.version : null;
  if (latest && !semver.gt(to, latest)) {
    throw new WorkFailedError(`${to} is not greater than ${latest}, the latest published version of ${name} on ${found.marketplace}`, {
      code: 'VERSION_NOT_NEWER_THAN_PUBLISHED',
      hint: `pass a version above ${latest}, e.g. plexichat-plugin version ${semver.inc(latest, 'patch')}`,
      details: { published: latest, requested: to },
    });
  }
  return { checked: true, marketplace: found.marketplace, latest };
}

type GitModule = typeof import('./git.js');

/** Step 4: git: clean tree, tag absent, identity known. */
async function planGit(ctx: Ctx, tag: string): Promise<{ git: GitModule; plan: Awaited<ReturnType<GitModule['checkGit']>> }> {
  const git = await import('./git.js');
  try {
    return { git, plan: await git.checkGit(ctx.cwd, ctx.env, tag) };
  } catch (err) {
    if (err instanceof git.GitError) throw fail(err);
    throw err;
  }
}

interface Planned {
  manifestFile: string;
  changelogFile: string;
  bump: Awaited<ReturnType<typeof planBump>>;
  notes: Awaited<ReturnType<typeof planChangelog>>;
  git?: Awaited<ReturnType<typeof planGit>>;
}

/** Step 5: write both files (and commit and tag); on any failure put back what was there. */
async function writeRelease(p: Planned, result: VersionResult, ctx: Ctx): Promise<void> {
  const { manifestFile, changelogFile, bump, notes } = p;
  // Written where the links point (bump.real, notes.real): a linked file stays a link, its target changed.
  const mode = (await fs.stat(bump.real)).mode & 0o777;
  const changelogMode = notes.raw ? (await fs.stat(notes.real)).mode & 0o777 : 0o644;
  const written: string[] = [];
  /** Put the files back as they were; false when that failed too. */
  const restore = async (): Promise<boolean> => {
    try {
      if (written.includes(manifestFile)) await writeFileAtomic(bump.real, bump.raw, { mode });
      if (written.includes(changelogFile)) {
        if (notes.raw) await writeFileAtomic(notes.real, notes.raw, { mode: changelogMode });
        else await fs.rm(notes.real, { force: true });
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
    await writeFileAtomic(bump.real, bump.edited, { mode });
    written.push(manifestFile);
    if (notes.changelog.action !== 'kept') {
      await writeFileAtomic(notes.real, notes.changelog.text, { mode: changelogMode });
      written.push(changelogFile);
    }
  } catch (err) {
    const e = err as CliError;
    return undone(e, e.code ?? 'WRITE_FAILED', e.hint ?? 'check the permissions and free space');
  }
  if (!p.git) return;
  const { git, plan } = p.git;
  try {
    result.git = await git.commitAndTag(plan, written, `${bump.name || 'plugin'} ${bump.to}`, ctx.env);
  } catch (err) {
    // A commit that exists stays (the message says so); anything before it is undone.
    if (err instanceof git.GitError && err.code === 'GIT_TAG_FAILED') throw fail(err);
    await git.unstage(plan, written, ctx.env);
    if (err instanceof git.GitError) return undone(err, err.code, err.hint);
    throw err;
  }
}

/** How long a run waits for another `version` on the same plugin before it gives up. */
const LOCK_WAIT_MS = 30_000;

/**
 * One `version` at a time per plugin: a lock file (O_EXCL, holding the pid)
 * named after the manifest's real path, in the temp folder (never in the
 * project, where --git would see it). A second run waits for the first to
 * end, then reads what it wrote; a lock left by a killed run is taken over.
 */
async function lockRelease(manifestFile: string, ctx: Ctx): Promise<{ release(): Promise<void> }> {
  const [{ acquireLock }, os, { createHash }] = await Promise.all([import('../io/lock-file.js'), import('node:os'), import('node:crypto')]);
  const real = await fs.realpath(manifestFile).catch(() => manifestFile);
  const file = path.join(os.tmpdir(), `plexichat-plugin-version-${createHash('sha256').update(real).digest('hex').slice(0, 24)}.lock`);
  const got = await acquireLock(file, { waitMs: LOCK_WAIT_MS, signal: ctx.signal });
  if ('busy' in got) {
    throw new WorkFailedError(
      `another \`plexichat-plugin version\` is running on this plugin${got.pid ? ` (pid ${got.pid})` : ''}, still after ${LOCK_WAIT_MS / 1000} s; nothing was changed`,
      { code: 'VERSION_BUSY', hint: `wait for it to end, then run again (a lock left by a run that was killed is taken over by itself: ${file})` },
    );
  }
  return got.held;
}

export async function versionPlugin(opts: VersionOptions, ctx: Ctx): Promise<VersionResult> {
  const manifestFile = path.join(ctx.cwd, MANIFEST_PATH);
  if (opts.dryRun) return plan(opts, ctx, manifestFile);
  const lock = await lockRelease(manifestFile, ctx);
  try {
    return await plan(opts, ctx, manifestFile);
  } finally {
    await lock.release();
  }
}

/** Plan every change, check it, then (unless --dry-run) write it. */
async function plan(opts: VersionOptions, ctx: Ctx, manifestFile: string): Promise<VersionResult> {
  const changelogFile = path.join(ctx.cwd, CHANGELOG_PATH);
  const bump = await planBump(manifestFile, opts, ctx);
  const notes = await planChangelog(changelogFile, bump.to, opts, ctx);
  const published = await checkPublished(ctx, bump.name, bump.to);
  const tag = `v${bump.to}`;
  const git = opts.git ? await planGit(ctx, tag) : undefined;
  const { changelog } = notes;
  const result: VersionResult = {
    plugin: bump.name,
    from: bump.from,
    to: bump.to,
    dryRun: Boolean(opts.dryRun),
    manifest: { file: MANIFEST_PATH, line: bump.line },
    changelog: { file: CHANGELOG_PATH, action: changelog.action, heading: changelog.heading, empty: changelog.empty },
    published,
    ...(opts.git ? { git: { tag } } : {}),
  };
  if (!opts.dryRun) await writeRelease({ manifestFile, changelogFile, bump, notes, git }, result, ctx);
  return result;
}

/** The account of a bump on ctx's output. */
export function showVersion(r: VersionResult, ctx: Ctx): void {
  const { out } = ctx;
  const verb = r.dryRun ? 'would bump' : 'bumped';
  out.result(inline(`${out.c.green('✔')} ${r.plugin} ${verb} ${r.from} -> ${r.to}${r.dryRun ? ' (dry run, nothing written)' : ''}`));
  out.result(inline(`  ${r.manifest.file}:${r.manifest.line}  version: ${r.to}`));
  const what: Record<ChangelogAction, string> = {
    created: 'created with',
    inserted: 'new section',
    unreleased: '[Unreleased] became',
    kept: 'kept the existing section',
  };
  out.result(inline(`  ${r.changelog.file}  ${what[r.changelog.action]} ${r.changelog.heading}`));
  if (r.published.checked) {
    out.result(inline(`  marketplace  ${r.published.latest ? `latest published ${r.published.latest}` : 'nothing published yet'}`));
  } else {
    out.info(inline(`  marketplace  not compared: ${r.published.reason}`));
  }
  if (r.git) out.result(inline(`  git  ${r.git.commit ? `committed ${r.git.commit.slice(0, 12)}, tagged ${r.git.tag}` : `would commit and tag ${r.git.tag}`}`));
  if (r.changelog.empty)
    out.warn(`the CHANGELOG.md section for ${r.to} is empty; add notes (--note) before submitting: marketplace prepare refuses an empty section`);
}
