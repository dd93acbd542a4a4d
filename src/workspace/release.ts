/**
 * `version` over the plugins of a workspace. Without --git each plugin is
 * bumped as in its own folder (operations.ts versionOp). With --git the
 * run is one release, as changesets and Nx release make one: every plugin's
 * bump is planned first (a dry run, nothing written), then git is checked
 * once (a clean tree, an identity, and no tag `<name>@<version>` taken),
 * then the files are written, then ONE commit holds every bumped plugin's
 * files and each plugin gets its own annotated tag `<name>@<version>` (a
 * `v<version>` tag would clash between plugins). Any refusal before the
 * writes changes nothing; a write or the commit that fails after them puts
 * every file back as it was (a release is all or nothing).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { UsageError, WorkFailedError } from '../errors.js';
import type { Ctx } from '../io/context.js';
import { Output } from '../io/output.js';
import { writeFileAtomic } from '../io/atomic.js';
import { MANIFEST_PATH } from '../core/manifest/types.js';
import type { VersionOptions, VersionResult } from '../release/version-plugin.js';
import type { Member } from './members.js';
import { versionOp } from './operations.js';
import { runPlugins, type PluginRun, type RunOptions } from './run.js';

/** The tag of one plugin's release in a workspace. */
export const releaseTag = (name: string, version: string) => `${name}@${version}`;

function silent(ctx: Ctx): Ctx {
  const none = () => new Writable({ write: (_c, _e, done) => done() });
  return { ...ctx, out: new Output({ json: true, quiet: true, verbose: false, color: false, stdout: none(), stderr: none() }) };
}

/** Plan every bump without writing: the planned versions, or a refusal naming the plugins that refused. */
async function planAll(members: readonly Member[], ctx: Ctx, opts: VersionOptions, o: RunOptions): Promise<PluginRun<VersionResult>[]> {
  const planned = await runPlugins(members, silent(ctx), versionOp({ ...opts, git: false, dryRun: true }), o);
  const refused = planned.filter((p) => p.exitCode !== 0);
  if (refused.length > 0) {
    const first = refused[0];
    throw new WorkFailedError(`version --git: ${refused.map((p) => `${p.name}: ${p.summary}`).join('; ')}; nothing was written`, {
      code: first.error?.code ?? 'VERSION_REFUSED',
      hint: first.error?.hint ?? 'fix it (or leave the plugin out with --plugin), then run again',
    });
  }
  return planned;
}

function changedFiles(m: Member, r: VersionResult): string[] {
  return [path.join(m.dir, MANIFEST_PATH), ...(r.changelog.action !== 'kept' ? [path.join(m.dir, r.changelog.file)] : [])];
}

/** A file as it was before the release wrote it (its real path, so a symlink stays one); absent: the release creates it. */
interface Original {
  file: string;
  bytes?: Buffer;
  mode?: number;
}

/** The bytes of every file the planned bumps will write, before any is written. */
async function snapshot(members: readonly Member[], planned: readonly PluginRun<VersionResult>[]): Promise<Original[]> {
  const files = planned.flatMap((p, i) => changedFiles(members[i], p.result!));
  return Promise.all(
    files.map(async (f) => {
      const file = await fs.realpath(f).catch(() => f);
      const st = await fs.stat(file).catch(() => undefined);
      return st ? { file, bytes: await fs.readFile(file), mode: st.mode & 0o7777 } : { file };
    }),
  );
}

/** Put every file back as it was (a file the release created is removed): a release that cannot commit leaves nothing bumped. */
async function restore(originals: readonly Original[], ctx: Ctx): Promise<void> {
  const failed: string[] = [];
  for (const o of originals) {
    try {
      if (o.bytes) await writeFileAtomic(o.file, o.bytes, { mode: o.mode });
      else await fs.rm(o.file, { force: true });
    } catch {
      failed.push(o.file);
    }
  }
  if (failed.length) ctx.out.warn(`could not restore ${failed.join(', ')}: git diff shows what the release changed there`);
}

/** `version --git` over members: one commit, a tag per plugin. */
async function releaseAll(root: string, members: readonly Member[], ctx: Ctx, opts: VersionOptions, o: RunOptions): Promise<PluginRun<VersionResult>[]> {
  const planned = await planAll(members, ctx, opts, o);
  const tags = planned.map((p) => ({ tag: releaseTag(p.name, p.result!.to), message: `${p.name} ${p.result!.to}` }));
  const git = await import('../release/git.js');
  const fail = (err: unknown): never => {
    if (err instanceof git.GitError) throw new WorkFailedError(err.message, { code: err.code, hint: err.hint });
    throw err;
  };
  const repo = await git
    .checkGitTags(
      root,
      ctx.env,
      tags.map((t) => t.tag),
    )
    .catch(fail);
  const originals = await snapshot(members, planned);
  const runs = await runPlugins(members, ctx, versionOp({ ...opts, git: false, dryRun: false }), o);
  if (runs.some((r) => r.exitCode !== 0)) {
    const written = runs.filter((r) => r.exitCode === 0).map((r) => r.name);
    await restore(originals, ctx);
    if (written.length) ctx.out.warn(`nothing was committed, and ${written.join(', ')} ${written.length === 1 ? 'is' : 'are'} back as before`);
    for (const r of runs) if (r.exitCode === 0) r.summary = `${r.summary}, then restored (another plugin failed)`;
    return runs.map((r) => (r.exitCode === 0 ? { ...r, exitCode: 1 } : r));
  }
  const files = runs.flatMap((r, i) => changedFiles(members[i], r.result!));
  const message = `release: ${tags.map((t) => t.message).join(', ')}`;
  const commit = await git.commitAndTagMany(repo, files, message, tags, ctx.env).catch(async (err: unknown) => {
    // Not committed: the files go back as they were. Committed but a tag failed: the commit stands, the hint says which tags to make.
    if (err instanceof git.GitError && git.NOT_COMMITTED.has(err.code)) await restore(originals, ctx);
    return fail(err);
  });
  for (const [i, r] of runs.entries()) {
    r.result!.git = { commit, tag: tags[i].tag };
    r.summary = `${r.summary}, tagged ${tags[i].tag}`;
  }
  ctx.out.info(`committed ${commit.slice(0, 12)} (${runs.length} plugin${runs.length === 1 ? '' : 's'}) and tagged ${tags.map((t) => t.tag).join(', ')}`);
  return runs;
}

/** The bump and --pre checked once (a bad one is one usage error, not one per plugin). */
async function checkBumpArgs(opts: VersionOptions): Promise<void> {
  const { BumpError, nextVersion } = await import('../release/bump.js');
  try {
    nextVersion('0.0.0', opts.bump, opts.pre);
  } catch (err) {
    if (err instanceof BumpError && err.usage) throw new UsageError(err.message, { code: err.code, hint: err.hint });
  }
}

/** Run version over members (see the module's comment for --git). */
export async function versionMembers(
  root: string,
  members: readonly Member[],
  ctx: Ctx,
  opts: VersionOptions,
  o: RunOptions,
): Promise<PluginRun<VersionResult>[]> {
  await checkBumpArgs(opts);
  if (members.length === 0) return [];
  if (opts.git && !opts.dryRun) return releaseAll(root, members, ctx, opts, o);
  if (opts.git) return dryRelease(members, ctx, opts, o);
  return runPlugins(members, ctx, versionOp(opts), o);
}

/** `version --git --dry-run`: what each plugin would become and the tag it would get. */
async function dryRelease(members: readonly Member[], ctx: Ctx, opts: VersionOptions, o: RunOptions): Promise<PluginRun<VersionResult>[]> {
  const runs = await runPlugins(members, ctx, versionOp({ ...opts, git: false }), o);
  for (const r of runs) if (r.result) r.result.git = { tag: releaseTag(r.name, r.result.to) };
  return runs;
}
