/**
 * `build`: validate, then pack dist/<name>-<version>.zip and its .sha256.
 * The work is src/project/build.ts (validation alongside
 * packing) and build.ts (the archive); this module turns the options into
 * a result, draws the progress bar and renders the result, or what a
 * failure's error carries.
 */
import path from 'node:path';
import { userPath, type Ctx } from '../io/context.js';
import { formatBytes } from '../io/bytes.js';
import { createProgress } from '../io/progress.js';
import fs from 'node:fs/promises';
import { CliError, UsageError } from '../errors.js';
import type { WheelBuildPlan, WheelBuildVariant } from '../deps/build-wheels.js';
import { formatDiagnostic } from '../core/manifest/format.js';
import type { Diagnostic } from '../core/manifest/types.js';
import { buildProject, findingLine, secretLine, sourceDateEpoch, type BuildFailureDetails, type ProjectBuild } from '../project/build.js';
import type { Decision } from '../core/package/file-list.js';
import { signingKeyForBuild } from '../signing/files.js';
import type { ManifestView } from '../attest/files.js';
import { dropCreatedOutDir, useOutDir } from '../io/out-dir.js';
import { inline } from '../io/terminal.js';

export interface BuildCommandOptions {
  out?: string;
  dryRun?: boolean;
  explain?: boolean;
  includeTests?: boolean;
  allowSecret?: string[];
  /** true: sign (a key is required); false: never sign; undefined: sign when a key is configured. */
  sign?: boolean;
  /** The private key file to sign with. */
  key?: string;
  /** Pack the locked wheels (pylock.toml) under wheels/. */
  wheels?: boolean;
  /** With --wheels: one archive per platform when a wheel is platform-specific. */
  splitPlatforms?: boolean;
  /** Wheelhouses to take wheels from before the cache and the index (repeatable). */
  findLinks?: string[];
  indexUrl?: string;
}

export interface BuildResult {
  dryRun: boolean;
  plugin: { name: string; version: string };
  /** Absolute path of the archive (absent on a dry run). */
  archive?: string;
  sha256?: string;
  /** Archive size in bytes. */
  size?: number;
  sha256File?: string;
  /** Number of files packed (the integrity listing not counted). */
  files: number;
  /** Bytes of the packed files. */
  bytesIn: number;
  /** Dry run: every file that would be packed. */
  list?: { path: string; size: number }[];
  /** --explain: every path seen and the rule that kept or dropped it. */
  explain?: Decision[];
  warnings: string[];
  /** Files not part of a plugin and not opted in: not packed (docs/archive-format.md, "What goes in"). */
  leftOut: string[];
  /** Validation warnings. */
  diagnostics: Diagnostic[];
  /** The signature written beside the archive (docs/signing.md). */
  signature?: { file: string; keyId: string; keySource: string };
  /** The CycloneDX SBOM written beside the archive, every build. */
  sbom?: { file: string };
  /** The signed build provenance (DSSE envelope of an in-toto SLSA statement), signed builds only. */
  provenance?: { file: string; keyId: string; slsaLevel: string; commit?: string };
  /** build --wheels: the archive's platform (`any`, `all`, or a platform with --split-platforms). */
  platform?: string;
  /** build --wheels: the packed wheels (wheels/index.json). */
  wheels?: { path: string; name: string; version: string; sha256: string }[];
  /** build --wheels --split-platforms: the archives of the other platforms, each as this one. */
  variants?: BuildResult[];
}

/** The one line naming what was left out, said once per build (kept beside the result: --json has `leftOut`). */
const leftOutLines = new WeakMap<BuildResult, string | undefined>();

/** What each built archive's attestations need (kept beside the result: not part of --json). */
interface BuiltFacts {
  /** The integrity listing's sha256, for the signature. */
  contentsSha256: string;
  members: { path: string; sha256: string }[];
  manifest: ManifestView;
}
const contents = new WeakMap<BuildResult, BuiltFacts>();

export async function run(opts: BuildCommandOptions, ctx: Ctx): Promise<BuildResult> {
  const startedOn = ctx.clock.now();
  const projectDir = ctx.cwd;
  const mtime = sourceDateEpoch(ctx.env);

  // --out as the user typed it (userPath); the default dist/ is the project's.
  const outDir = opts.out !== undefined ? userPath(ctx, opts.out) : path.join(projectDir, 'dist');
  // Decided before anything is packed: `--sign` without a key writes nothing.
  const key = await signingKeyForBuild({
    sign: opts.sign,
    keyFile: opts.key,
    keyPath: opts.key === undefined ? undefined : userPath(ctx, opts.key),
    env: ctx.env,
  });
  if (opts.splitPlatforms && !opts.wheels) throw new UsageError('--split-platforms needs --wheels', { hint: 'build --wheels --split-platforms' });
  const plan = opts.wheels ? await planWheelBuild(opts, ctx) : undefined;
  const created = await useOutDir(outDir, { given: opts.out, defaultShown: 'dist', create: !opts.dryRun });
  const written: string[] = [];
  try {
    if (!plan) return await buildOne(outDir, opts, ctx, { mtime, key, startedOn }, undefined);
    const results: BuildResult[] = [];
    for (const variant of plan.variants) {
      const r = await buildOne(outDir, opts, ctx, { mtime, key, startedOn }, variant);
      written.push(...writtenFiles(r));
      results.push(r);
    }
    const [first, ...rest] = results;
    if (rest.length) first.variants = rest;
    return first;
  } catch (err) {
    // A failed variant takes the archives made before it: nothing is half-written.
    await Promise.all(written.map((f) => fs.rm(f, { force: true })));
    // A failed build leaves no empty output folder behind that it made itself.
    await dropCreatedOutDir(outDir, created);
    throw err;
  } finally {
    await plan?.cleanup();
  }
}

interface BuildRun {
  mtime: number | undefined;
  key: Awaited<ReturnType<typeof signingKeyForBuild>>;
  startedOn: number;
}

/** One archive: pack it, then its SBOM, signature and provenance. */
async function buildOne(outDir: string, opts: BuildCommandOptions, ctx: Ctx, b: BuildRun, variant: WheelBuildVariant | undefined): Promise<BuildResult> {
  const result = await buildInto(outDir, opts, ctx, b.mtime, variant);
  if (b.key) result.warnings.push(...b.key.warnings);
  if (variant) Object.assign(result, { platform: variant.platform, wheels: variant.wheels });
  if (!result.archive) return result;
  const facts = contents.get(result)!;
  const { finishBuild } = await import('../project/finish-build.js');
  const done = await finishBuild(
    {
      archive: result.archive,
      sha256File: result.sha256File,
      sha256: result.sha256!,
      size: result.size!,
      plugin: result.plugin,
      ...facts,
      ...(variant ? { dependencies: variant.dependencies } : {}),
    },
    {
      projectDir: ctx.cwd,
      env: ctx.env,
      key: b.key,
      parameters: {
        plugin: result.plugin,
        includeTests: Boolean(opts.includeTests),
        allowSecrets: opts.allowSecret ?? [],
        sourceDateEpoch: b.mtime ?? null,
        ...(variant ? { wheels: true, platform: variant.platform } : {}),
      },
      startedOn: b.startedOn,
      now: ctx.clock.now(),
      flag: '--out <dir>',
    },
  );
  return Object.assign(result, done);
}

function writtenFiles(r: BuildResult): string[] {
  return [r.archive, r.sha256File, r.sbom?.file, r.signature?.file, r.provenance?.file].filter((f): f is string => Boolean(f));
}

async function planWheelBuild(opts: BuildCommandOptions, ctx: Ctx): Promise<WheelBuildPlan> {
  const { planWheelBuild: plan } = await import('../deps/build-wheels.js');
  return plan({ ctx, split: Boolean(opts.splitPlatforms), findLinks: opts.findLinks, indexUrl: opts.indexUrl });
}

async function buildInto(outDir: string, opts: BuildCommandOptions, ctx: Ctx, mtime: number | undefined, variant?: WheelBuildVariant): Promise<BuildResult> {
  // In a workspace: the shared libraries the plugin imports are packed too (docs/workspace.md).
  const { workspaceLibraryFiles } = await import('../workspace/env.js');
  const extraFiles = await workspaceLibraryFiles(ctx.cwd);
  const progress = createProgress(ctx, { label: 'packing', showAfterMs: 500, bigBytes: 16 * 1024 * 1024 });
  let built: ProjectBuild;
  try {
    built = await buildProject({
      projectDir: ctx.cwd,
      outDir,
      env: ctx.env,
      stdio: ctx.stdio?.(),
      includeTests: opts.includeTests,
      allowSecrets: opts.allowSecret,
      dryRun: opts.dryRun,
      explain: opts.explain,
      mtime,
      extra: variant?.extra,
      fileName: variant?.fileName,
      extraFiles,
      signal: ctx.signal,
      onProgress: progress.update,
      onPacked: (checking) => {
        // After a long build on a terminal, say why the finished archive is not there yet.
        const shown = progress.shown;
        progress.stop();
        if (checking && shown) ctx.out.info('packed; waiting for the code checks to finish ...');
      },
    });
  } finally {
    progress.stop();
  }
  const { outcome } = built;
  const result: BuildResult = {
    dryRun: Boolean(opts.dryRun),
    plugin: built.plugin,
    files: outcome.list.files.length,
    bytesIn: built.bytesIn,
    warnings: built.warnings,
    leftOut: outcome.list.leftOut,
    diagnostics: built.diagnostics,
  };
  leftOutLines.set(result, built.leftOut);
  if (opts.dryRun) result.list = outcome.list.files.map((f) => ({ path: f.path, size: f.size }));
  if (opts.explain) result.explain = outcome.list.decisions;
  if (outcome.archive) {
    result.archive = outcome.archive.path;
    result.sha256 = outcome.archive.sha256;
    result.size = outcome.archive.size;
    result.sha256File = outcome.archive.sha256Path;
    contents.set(result, { contentsSha256: outcome.archive.contentsSha256, members: outcome.archive.members, manifest: built.manifest });
  }
  return result;
}

/** Validation warnings, then the build's own warnings (stderr). */
function renderWarnings(diagnostics: Diagnostic[] | undefined, warnings: string[] | undefined, ctx: Ctx): void {
  if (!ctx.out.quiet) for (const d of diagnostics ?? []) ctx.out.stderr.write(`${formatDiagnostic(d)}\n`);
  for (const w of warnings ?? []) ctx.out.warn(w);
}

/** What a failed build's error carries: its diagnostics, warnings, --explain and every refused file but the last (the error line names it). */
export function renderError(err: unknown, ctx: Ctx): void {
  if (!(err instanceof CliError) || !err.details) return;
  const d = err.details as BuildFailureDetails;
  if (err.code === 'VALIDATION_FAILED') {
    for (const x of d.diagnostics ?? []) ctx.out.stderr.write(`${formatDiagnostic(x)}\n`);
    return;
  }
  renderWarnings(d.diagnostics, d.warnings, ctx);
  if (d.explain) renderExplain(d.explain, ctx);
  const lines = d.problems?.map((p) => p.message) ?? d.secrets?.map(secretLine) ?? d.findings?.map(findingLine) ?? [];
  for (const l of lines.slice(0, -1)) ctx.out.error(l);
}

export function render(r: BuildResult, ctx: Ctx): void {
  const { out } = ctx;
  renderWarnings(r.diagnostics, r.warnings, ctx);
  if (r.explain) renderExplain(r.explain, ctx);
  const leftOut = leftOutLines.get(r);
  if (leftOut && !r.explain) out.info(leftOut);
  if (r.dryRun) {
    if (!r.explain) {
      const w = Math.max(...(r.list ?? []).map((f) => formatBytes(f.size).length), 1);
      for (const f of r.list ?? []) out.result(`${formatBytes(f.size).padStart(w)}  ${inline(f.path)}`);
    }
    out.result(
      `${r.plugin.name} ${r.plugin.version}: ${r.files} file${r.files === 1 ? '' : 's'}, ${formatBytes(r.bytesIn)} would be packed (dry run, nothing written)`,
    );
    return;
  }
  // Named from where the user is, so the path can be typed back (--archive): inside it relative, else absolute.
  const rel = path.relative(ctx.start, r.archive!) || r.archive!;
  out.result(`${out.c.green('✔')} built ${rel.startsWith('..') ? r.archive : rel}`);
  out.result(`  files   ${r.files}`);
  out.result(`  in      ${formatBytes(r.bytesIn)}`);
  out.result(`  out     ${formatBytes(r.size!)}`);
  out.result(`  sha256  ${r.sha256}`);
  if (r.sbom) out.result(`  sbom    ${path.basename(r.sbom.file)} (CycloneDX 1.6)`);
  if (r.signature) out.result(`  signed  key ${r.signature.keyId} (${r.signature.keySource}) → ${path.basename(r.signature.file)}`);
  if (r.provenance) out.result(`  provenance  ${path.basename(r.provenance.file)} (${r.provenance.slsaLevel}: signed on this machine, not by a build service)`);
  if (r.wheels) out.result(`  wheels  ${r.wheels.length} (${r.platform}): ${r.wheels.map((w) => `${w.name} ${w.version}`).join(', ') || 'none'}`);
  for (const v of r.variants ?? []) render({ ...v, diagnostics: [], warnings: [] }, ctx);
}

function renderExplain(decisions: Decision[], ctx: Ctx): void {
  const mark: Record<Decision['action'], string> = { kept: '+', dropped: '-', refused: '!', skipped: '~' };
  const w = Math.max(...decisions.map((d) => d.path.length), 1);
  for (const d of decisions) ctx.out.result(inline(`${mark[d.action]} ${d.path.padEnd(w)}  ${d.action}: ${d.rule}`));
}
