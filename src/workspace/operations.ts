/**
 * What each command does for one plugin of a workspace: the same
 * operations the command runs in a plugin folder (project/validate.ts,
 * python/run-tests.ts, project/build.ts + finish-build.ts,
 * check/report.ts, deploy/project.ts, release/version-plugin.ts), with the plugin's own context (run.ts), each
 * rendering a short account of itself into that context's output.
 */
import path from 'node:path';
import type { Ctx } from '../io/context.js';
import { userPath } from '../io/context.js';
import { inline } from '../io/terminal.js';
import { formatDiagnostic } from '../core/manifest/format.js';
import type { Finding, Profile } from '../check/types.js';
import { allFindings, findingText, type CheckReport } from '../check/types.js';
import type { ValidationReport } from '../project/validate.js';
import type { TestOptions, TestResult } from '../python/run-tests.js';
import type { SigningKey } from '../signing/files.js';
import type { DeployRenderOptions, DeployResult } from '../deploy/project.js';
import type { VersionOptions, VersionResult } from '../release/version-plugin.js';
import { importedLibraries } from './affected.js';
import { libraryFiles } from './library-files.js';
import type { Library, Member } from './members.js';
import type { Operation } from './run.js';

const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;

export function validateOp(o: { strict?: boolean }): Operation<ValidationReport> {
  return async (_m, ctx) => {
    const [{ validateProject }, { renderDiagnostics }] = await Promise.all([import('../project/validate.js'), import('../project/render-diagnostics.js')]);
    const r = await validateProject(ctx.cwd, { env: ctx.env, strict: o.strict });
    renderDiagnostics(r, ctx);
    const summary = `${r.ok ? 'valid' : 'invalid'}: ${n(r.errors.length, 'error')}, ${n(r.warnings.length, 'warning')}`;
    ctx.out.result(r.ok ? `${ctx.out.c.green('✔')} ${summary}` : `${ctx.out.c.red('✖')} ${summary}`);
    return { exitCode: r.ok ? 0 : 1, summary, result: r };
  };
}

export function testOp(o: TestOptions): Operation<TestResult> {
  return async (_m, ctx) => {
    const { runTests } = await import('../python/run-tests.js');
    const r = await runTests(o, ctx);
    const counts = `${r.passed} passed${r.failed ? `, ${r.failed} failed` : ''}${r.errors ? `, ${n(r.errors, 'error')}` : ''}`;
    if (r.exitCode === 0) ctx.out.result(`${ctx.out.c.green('✔')} tests passed: ${counts}`);
    else ctx.out.result(`${ctx.out.c.red('✖')} tests failed: ${counts}`);
    return { exitCode: r.exitCode, summary: `tests ${r.exitCode === 0 ? 'passed' : 'failed'}: ${counts}`, result: r };
  };
}

export interface BuildOpOptions {
  out?: string;
  includeTests?: boolean;
  key: SigningKey | undefined;
  libraries: readonly Library[];
}

export interface WorkspaceBuild {
  plugin: { name: string; version: string };
  archive: string;
  sha256: string;
  size: number;
  files: number;
  /** The shared libraries packed into the archive. */
  libraries: string[];
  sbom?: { file: string };
  signature?: { file: string; keyId: string; keySource: string };
}

async function extraFilesOf(m: Member, libraries: readonly Library[]) {
  const used = await importedLibraries(m, libraries);
  const files = (await Promise.all(used.map(libraryFiles))).flat();
  return { used, files };
}

export function buildOp(o: BuildOpOptions): Operation<WorkspaceBuild> {
  return async (m, ctx) => {
    const [{ buildProject, sourceDateEpoch }, { finishBuild }, { useOutDir }] = await Promise.all([
      import('../project/build.js'),
      import('../project/finish-build.js'),
      import('../io/out-dir.js'),
    ]);
    const startedOn = ctx.clock.now();
    const mtime = sourceDateEpoch(ctx.env);
    const outDir = o.out !== undefined ? userPath(ctx, o.out) : path.join(m.dir, 'dist');
    await useOutDir(outDir, { given: o.out, defaultShown: 'dist', create: true });
    const libs = await extraFilesOf(m, o.libraries);
    const built = await buildProject({
      projectDir: m.dir,
      outDir,
      env: ctx.env,
      stdio: ctx.stdio?.(),
      includeTests: o.includeTests,
      mtime,
      signal: ctx.signal,
      extraFiles: libs.files,
    });
    for (const d of built.diagnostics) ctx.out.note(formatDiagnostic(d));
    for (const w of built.warnings) ctx.out.warn(w);
    const a = built.outcome.archive!;
    const done = await finishBuild(
      {
        archive: a.path,
        sha256File: a.sha256Path,
        sha256: a.sha256,
        size: a.size,
        plugin: built.plugin,
        contentsSha256: a.contentsSha256,
        members: a.members,
        manifest: built.manifest,
      },
      {
        projectDir: m.dir,
        env: ctx.env,
        key: o.key,
        parameters: { plugin: built.plugin, includeTests: Boolean(o.includeTests), allowSecrets: [], sourceDateEpoch: mtime ?? null },
        startedOn,
        now: ctx.clock.now(),
        flag: '--out <dir>',
      },
    );
    const result: WorkspaceBuild = {
      plugin: built.plugin,
      archive: a.path,
      sha256: a.sha256,
      size: a.size,
      files: built.outcome.list.files.length,
      libraries: libs.used.map((l) => l.name),
      ...done,
    };
    const shown = path.relative(ctx.start, a.path) || a.path;
    const withLibs = result.libraries.length ? ` with ${result.libraries.join(', ')}` : '';
    ctx.out.result(`${ctx.out.c.green('✔')} built ${inline(shown.startsWith('..') ? a.path : shown)} (${n(result.files, 'file')}${withLibs})`);
    return { exitCode: 0, summary: `built ${path.basename(a.path)}${withLibs}`, result };
  };
}

export interface CheckOpOptions {
  profile: Profile;
  allowSkipped?: boolean;
  acceptPermissions: string[];
}

const MARK = { passed: '✔', failed: '✖', skipped: '-' } as const;

function renderCheck(r: CheckReport, ctx: Ctx): void {
  const { out } = ctx;
  const w = Math.max(...r.checks.map((c) => c.id.length));
  for (const c of r.checks) out.result(`  ${MARK[c.status]} ${c.id.padEnd(w)}  ${c.status.padEnd(7)}  ${inline(c.summary)}`);
  for (const f of allFindings(r).filter((x) => !x.suppressed)) out.result(findingText(f));
}

export function checkSummary(r: CheckReport): string {
  return `${r.ok ? 'passed' : 'failed'}: ${n(r.counts.error, 'error')}, ${n(r.counts.warning, 'warning')}, ${r.counts.skipped} skipped`;
}

export function checkOp(o: CheckOpOptions): Operation<CheckReport> {
  return async (_m, ctx) => {
    const { checkReport } = await import('../check/report.js');
    const r = await checkReport(ctx, o);
    renderCheck(r, ctx);
    return { exitCode: r.ok ? 0 : 1, summary: checkSummary(r), result: r };
  };
}

/** A finding's file as seen from the workspace root. */
export function fromRoot(f: Finding, rel: string): Finding {
  return f.file ? { ...f, file: `${rel}/${f.file}` } : f;
}

export interface DeployOpOptions extends DeployRenderOptions {
  /** --out as typed: a folder inside each plugin's folder, relative to it. */
  out?: string;
}

export function deployOp(o: DeployOpOptions): Operation<DeployResult> {
  return async (m, ctx) => {
    const { renderProject, showDeploy, deployExit } = await import('../deploy/project.js');
    const r = await renderProject(m.dir, { ...o, ...(o.out !== undefined ? { outPath: path.resolve(m.dir, o.out) } : {}) }, ctx);
    showDeploy(r, ctx);
    const changed = r.files.filter((f) => f.status !== 'unchanged' && f.status !== 'up-to-date').length;
    const summary = r.check
      ? r.upToDate
        ? `up to date: ${n(r.files.length, 'file')}`
        : `drift: ${changed} of ${n(r.files.length, 'file')} missing or stale`
      : `${changed} written, ${r.files.length - changed} unchanged (${r.image})`;
    return { exitCode: deployExit(r), summary, result: r };
  };
}

export function versionOp(o: VersionOptions): Operation<VersionResult> {
  return async (_m, ctx) => {
    const { versionPlugin, showVersion } = await import('../release/version-plugin.js');
    const r = await versionPlugin(o, ctx);
    showVersion(r, ctx);
    return { exitCode: 0, summary: `${r.dryRun ? 'would bump' : 'bumped'} ${r.from} -> ${r.to}`, result: r };
  };
}
