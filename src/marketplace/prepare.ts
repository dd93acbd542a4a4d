/**
 * Prepare the listing for the current plugin version (the operation under
 * `marketplace prepare` and `submit`): build the listing, check it, run
 * the archive through the marketplace's checks locally (project/verify.ts)
 * and, when all is well, write it next to the archive
 * (dist/<name>-<version>.listing.json). When something is missing it
 * writes nothing and lists every problem.
 */
import { readRegularText } from '../io/read-file.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { userPath, type Ctx } from '../io/context.js';
import { buildListing, freshSidecar, projectRelative, serialiseListing, type Listing, type ListingProblem } from '../core/listing.js';
import { writeFileAtomic } from './atomic.js';
import { currentManifest } from './project.js';
import { loadProject, parsedOf, type Project } from '../project/project.js';
import type { ProjectSources } from '../project/types.js';
import { MANIFEST_PATH, type Manifest } from '../core/manifest/types.js';
import type { VerifyFinding } from '../core/package/verify.js';
import { CliError, UsageError, WorkFailedError, errnoCode } from '../errors.js';
import { fsError } from '../io/fs-errors.js';
// The same checks as `plexichat-plugin verify` (one implementation), run before anything is written or sent.
import { findingText, renderFindings, verifyArchiveFile, type VerifyResult, type VerifySignature } from '../project/verify.js';
import { inline } from '../io/terminal.js';

/** verify's verdict on the .sig beside the archive, with the message of its failure. */
export type SignatureVerdict = VerifySignature & { message?: string };

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

export interface PrepareOptions {
  /** An archive made with `build --out` (default: dist/<name>-<version>.zip). */
  archive?: string;
  /** The project when the caller has loaded it (submit): its manifest is parsed once. */
  project?: Project;
  /** Build dist/<name>-<version>.zip from the sources first, as `build` does (signed when a key is configured). */
  rebuild?: boolean;
  /**
   * Submit's overlap: a large archive (OVERLAP_MIN_BYTES and up) with a fresh
   * .sha256 from build is listed with that digest at once, and its checks run
   * while it is sent (`checked`); the listing file is written when they pass.
   */
  overlap?: boolean;
}

/** Archives from this size on are checked while submit sends them (smaller ones first: it costs little). */
export const OVERLAP_MIN_BYTES = 16 * 1024 * 1024;

/** The checks of an archive listed before they ran (overlap): its signature verdict and whether the listing file was written. */
export type PendingCheck = Promise<{ signature: SignatureVerdict; written: boolean }>;

/**
 * Shared with submit: build the listing, check it, run the archive through
 * `verify` (the marketplace's checks, locally) and, when all is well, write
 * the listing. A listing with problems writes nothing; an archive verify
 * refuses throws ARCHIVE_REFUSED (exit 1) and writes nothing.
 */
export async function prepareListing(
  ctx: Ctx,
  opts: PrepareOptions = {},
): Promise<
  PrepareResult & { listingPath: string; archivePath: string; digestFrom?: 'sidecar' | 'hashed'; signature?: SignatureVerdict; checked?: PendingCheck }
> {
  const project = opts.project ?? loadProject(ctx.cwd, ctx.env);
  if (opts.rebuild && opts.archive !== undefined) {
    throw new UsageError('--rebuild and --archive contradict each other', {
      hint: '--rebuild builds dist/<name>-<version>.zip from the sources; to use another archive, build it with `plexichat-plugin build --out <dir>` and drop --rebuild',
    });
  }
  const manifest = await currentManifest(ctx, project);
  if (opts.rebuild) await rebuild(ctx, project);
  const given = opts.archive === undefined ? undefined : await givenArchive(ctx, opts.archive);
  const rel = (p: string) => projectRelative(ctx.cwd, p);
  // Before the archive is listed or sent: it must be what the project's sources would pack now
  // (after verify's checks and the plugin/version match, which say more about a foreign archive).
  let freshness: Promise<void> | undefined;
  const fresh = (file: string) => (freshness ??= refuseStale(ctx, project, manifest, file, opts.archive ?? rel(file)));
  // One run over the archive: verify's checks, and the sha256 the listing carries, read together.
  let verifying: Promise<VerifyResult> | undefined;
  const verify = (file: string) =>
    (verifying ??= parsedOf(project).then((parsedManifest) => verifyArchiveFile({ file, shown: opts.archive ?? rel(file), parsedManifest })));
  let listedFrom: { sha256: string; size: number } | undefined;
  const digest = async (file: string) => {
    const side = opts.overlap ? await freshSidecar(file) : undefined;
    if (side && side.size >= OVERLAP_MIN_BYTES) {
      await fresh(file); // before the upload starts: verify's checks run while it is sent
      listedFrom = side;
      verify(file).catch(() => undefined); // started now, judged in `checked`
      return { ...side, from: 'sidecar' as const };
    }
    const r = await verify(file);
    return { sha256: r.sha256, size: r.size };
  };
  const built = await buildListing(ctx.cwd, manifest, { archive: given, digest });
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
  const listing = built.listing;
  const shown = { shown: opts.archive ?? base.archive.file, given: given !== undefined };
  const write = async () => {
    const text = serialiseListing(listing);
    const current = await readRegularText(built.paths.listing, { maxBytes: 1024 * 1024 }).catch(() => undefined);
    if (current !== text) await writeFileAtomic(built.paths.listing, text);
    return current !== text;
  };
  const done = { ok: true, ...base, listingFile: rel(built.paths.listing), listing };
  const side = listedFrom;
  if (side) {
    // Listed from build's .sha256: the archive's bytes are compared with it, and checked, while it is sent.
    const checked: PendingCheck = verify(built.paths.archive).then(async (r) => {
      if (r.sha256 !== side.sha256 || r.size !== side.size) {
        throw new WorkFailedError(`${shown.shown} does not match ${rel(built.paths.sha256File)} (changed after build?); ${STOPPED}`, {
          code: 'ARCHIVE_CHANGED',
          hint: 'run `plexichat-plugin build` again, then submit',
        });
      }
      const signature = verifyLocally(r, shown, manifest, STOPPED);
      return { signature, written: await write() };
    });
    checked.catch(() => undefined); // the caller awaits it
    return { ...done, checked };
  }
  const signature = verifyLocally(await verify(built.paths.archive), shown, manifest);
  await fresh(built.paths.archive);
  return { ...done, written: await write(), signature };
}

/** --rebuild: `build` with its defaults (dist/, signed when a key is configured), its warnings and left-out line on stderr. */
async function rebuild(ctx: Ctx, project: Project): Promise<void> {
  const [{ buildProject, sourceDateEpoch }, { signingKeyForBuild }] = await Promise.all([import('../project/build.js'), import('../signing/files.js')]);
  const outDir = path.join(ctx.cwd, 'dist');
  const mtime = sourceDateEpoch(ctx.env);
  const key = await signingKeyForBuild({ env: ctx.env });
  try {
    await fs.mkdir(outDir, { recursive: true });
  } catch (err) {
    throw fsError(err, 'create dist/') ?? err;
  }
  const startedOn = ctx.clock.now();
  const built = await buildProject({ projectDir: ctx.cwd, outDir, env: ctx.env, stdio: ctx.stdio?.(), mtime, signal: ctx.signal, project });
  const archive = built.outcome.archive!;
  const { finishBuild } = await import('../project/finish-build.js');
  await finishBuild(
    {
      archive: archive.path,
      sha256File: archive.sha256Path,
      sha256: archive.sha256,
      size: archive.size,
      contentsSha256: archive.contentsSha256,
      members: archive.members,
      manifest: built.manifest,
      plugin: built.plugin,
    },
    {
      projectDir: ctx.cwd,
      env: ctx.env,
      key,
      parameters: { plugin: built.plugin, includeTests: false, allowSecrets: [], sourceDateEpoch: mtime ?? null },
      startedOn,
      now: ctx.clock.now(),
      flag: 'dist/',
    },
  );
  for (const w of [...(key?.warnings ?? []), ...built.warnings]) ctx.out.warn(w);
  if (built.leftOut) ctx.out.info(built.leftOut);
  const n = built.outcome.list.files.length;
  ctx.out.info(`rebuilt ${projectRelative(ctx.cwd, archive.path)} (${n} file${n === 1 ? '' : 's'}${key ? ', signed' : ''})`);
}

/**
 * An archive that no longer matches the sources it was built from (a file
 * added, removed or changed since, the manifest included) is refused:
 * STALE_ARCHIVE, exit 1, nothing written or sent. The project's file list
 * is the one build uses (the Project value's, unless the archive was built
 * with --include-tests, --allow-secret or into another output folder, which
 * the comparison then follows). An archive given with --archive is held to
 * the same rule: the listing is made from this project's manifest and
 * CHANGELOG, so it must describe these files (docs/release.md).
 */
async function refuseStale(ctx: Ctx, project: ProjectSources, manifest: Manifest, file: string, shown: string): Promise<void> {
  const [{ readIntegrityListing, compareWithSources, isStale, describeStaleness }, { listProjectFiles }, { ownOutputFiles }, { readSourceRecord }] =
    await Promise.all([
      import('../core/package/freshness.js'),
      import('../core/package/file-list.js'),
      import('../core/package/own-output.js'),
      import('../core/package/source-record.js'),
    ]);
  const listing = await readIntegrityListing(file);
  // Verify's checks refuse an archive without a readable listing or a manifest, and ARCHIVE_MISMATCH
  // names another plugin's or version's archive: each with its own reason, not "stale".
  if (!listing || listing.plugin.name !== manifest.plugin.name || listing.plugin.version !== manifest.plugin.version) return;
  if (!listing.files.some((f) => f.path === MANIFEST_PATH)) return;
  const names = new Set(listing.files.map((f) => f.path));
  const includeTests = [...names].some((n) => n.startsWith('tests/') || n === 'conftest.py');
  const outDir = path.dirname(file);
  const exclude = ownOutputFiles(ctx.stdio?.());
  let list = includeTests || exclude.length > 0 || path.resolve(outDir) !== path.resolve(project.dir, 'dist') ? undefined : await project.files();
  // A file packed with --allow-secret is still this project's file.
  if (list?.secrets.some((x) => names.has(x.file))) list = undefined;
  list ??= await listProjectFiles(project.dir, { includeTests, allowSecrets: names, outDir, exclude });
  // In a workspace, build packs the shared libraries the plugin imports: they are its sources too (docs/workspace.md).
  const { workspaceLibraryFiles } = await import('../workspace/env.js');
  const libraries = await workspaceLibraryFiles(project.dir);
  const diff = await compareWithSources(listing.files, [...list.files, ...libraries], await readSourceRecord(ctx.env, project.dir));
  if (!isStale(diff)) return;
  throw new WorkFailedError(`${shown} is stale: ${describeStaleness(diff)} since it was built; nothing was written or sent`, {
    code: 'STALE_ARCHIVE',
    hint: 'run `plexichat-plugin build` again, or pass --rebuild',
    details: { archive: shown, ...diff },
  });
}

/** What a refusal found while the archive was being sent says: nothing reached the store. */
export const STOPPED = 'the upload was stopped before it ended; nothing was stored';

/** `--archive <path>`: a regular file that exists (else exit 2, the flag is wrong), as an absolute path. */
async function givenArchive(ctx: Ctx, given: string): Promise<string> {
  const file = userPath(ctx, given);
  const hint = 'pass the .zip that `plexichat-plugin build --out <dir>` wrote (the path on its "built" line)';
  let st;
  try {
    st = await fs.stat(file);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`--archive ${given}: no such file`, { code: 'ARCHIVE_NOT_FOUND', hint });
    throw fsError(err, `read --archive ${given}`) ?? err;
  }
  if (!st.isFile()) {
    throw new UsageError(`--archive ${given} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}, not an archive`, { code: 'NOT_A_FILE', hint });
  }
  return file;
}

/**
 * The archive through the \`verify\` command's checks (one implementation):
 * refused, nothing is written or uploaded. An archive given with --archive
 * must also hold this project's plugin and version. The signature's verdict
 * is returned, not judged: the listing does not depend on the .sig, and
 * submit, which sends it, decides.
 */
function verifyLocally(r: VerifyResult, a: { shown: string; given: boolean }, manifest: Manifest, outcome = 'nothing was sent'): SignatureVerdict {
  const sigCode = r.signature.status === 'failed' ? r.signature.code : undefined;
  const errors = r.findings.filter((f) => f.severity === 'error' && f.code !== sigCode);
  if (errors.length > 0) {
    const last = errors[errors.length - 1];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more, above)` : '';
    throw new WorkFailedError(`${a.shown} would be refused by the marketplace: ${findingText(last)}${more}; ${outcome}`, {
      code: 'ARCHIVE_REFUSED',
      hint: `rebuild it with \`plexichat-plugin build\`; \`plexichat-plugin verify ${a.shown}\` runs the same checks`,
      details: { archive: a.shown, findings: r.findings.filter((f) => f.code !== sigCode) },
    });
  }
  const { name, version } = manifest.plugin;
  if (a.given && r.plugin && (r.plugin.name !== name || r.plugin.version !== version)) {
    throw new WorkFailedError(`${a.shown} holds ${r.plugin.name} ${r.plugin.version}, but this project is ${name} ${version}`, {
      code: 'ARCHIVE_MISMATCH',
      hint: 'pass the archive built from this project at its current version, or run `plexichat-plugin build`',
      details: { archive: a.shown, archivePlugin: r.plugin, plugin: { name, version } },
    });
  }
  const message = r.findings.find((f) => f.severity === 'error' && f.code === sigCode)?.message;
  return message === undefined ? r.signature : { ...r.signature, message };
}

/** The verify findings of a refused archive, before its error line (which names the last error). */
export function renderRefused(err: unknown, ctx: Ctx): void {
  if (!(err instanceof CliError) || typeof err.details?.archive !== 'string' || !Array.isArray(err.details.findings)) return;
  const findings = err.details.findings as VerifyFinding[];
  const last = findings.filter((f) => f.severity === 'error').at(-1);
  renderFindings(
    findings.filter((f) => f !== last),
    ctx,
  );
}

export function renderProblems(r: PrepareResult, ctx: Ctx): void {
  ctx.out.error(`the listing for ${r.name} ${r.version} is not ready: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`);
  for (const p of r.problems) {
    ctx.out.note(`  - ${inline(p.message)}\n    ${ctx.out.c.dim(`fix: ${inline(p.hint)}`)}`);
  }
}
