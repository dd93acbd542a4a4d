/**
 * `build`: validate, then pack dist/<name>-<version>.zip and its .sha256.
 * The packing itself is src/core/package/build.ts; this module adds the
 * options, the progress bar and the rendering.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Ctx } from '../context.js';
import { isCI } from '../context.js';
import { formatBytes } from '../io/bytes.js';
import { UsageError, WorkFailedError, errnoCode } from '../errors.js';
import type { BuildOutcome } from '../core/package/build.js';
import type { Decision, FileListProblem } from '../core/package/file-list.js';
import { VERIFY_DEFAULTS } from '../core/package/limits.js';

export interface BuildCommandOptions {
  out?: string;
  dryRun?: boolean;
  explain?: boolean;
  includeTests?: boolean;
  allowSecret?: string[];
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
}

export async function run(opts: BuildCommandOptions, ctx: Ctx): Promise<BuildResult> {
  const projectDir = ctx.cwd;
  const mtime = sourceDateEpoch(ctx.env);

  const outDir = path.resolve(projectDir, opts.out ?? 'dist');
  const created = await checkOutDir(outDir, opts.out, !opts.dryRun);
  try {
    return await buildInto(outDir, opts, ctx, mtime);
  } catch (err) {
    // A failed build leaves no empty output folder behind that it made itself.
    if (created) await fs.rmdir(outDir).catch(() => undefined);
    throw err;
  }
}

async function buildInto(outDir: string, opts: BuildCommandOptions, ctx: Ctx, mtime: number | undefined): Promise<BuildResult> {
  const { out } = ctx;
  const projectDir = ctx.cwd;

  // Validation (manifest rules and the Python code checks) runs while the
  // files are packed into a temp file; the archive is renamed into place
  // only when validation passed, and validation errors stop everything.
  // Validation starts first: its Python process then runs while the
  // packing modules load.
  const { validateProject } = await import('../core/validate.js');
  const manifestModule = import('../core/manifest/index.js');
  const parsed = manifestModule.then(({ loadManifest }) => loadManifest(projectDir));
  parsed.catch(() => undefined); // a missing manifest is reported through validation
  const validation = validateProject(projectDir, { env: ctx.env, manifest: parsed });
  // Handled at once (before any await), so a rejection is never "unhandled"; awaited below.
  let validated = false;
  validation.then(
    () => (validated = true),
    () => (validated = true),
  );
  const [{ formatDiagnostic }, { buildArchive }] = await Promise.all([manifestModule, import('../core/package/build.js')]);
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  // The name and version, to pack while validation still runs (a missing
  // manifest is reported by validation).
  const m = (await parsed.catch(() => undefined))?.manifest;
  const early = m ? { name: m.plugin.name, version: String(m.plugin.version) } : undefined;
  const progress = createProgress(ctx);
  const packing = early
    ? buildArchive({
        projectDir,
        outDir,
        plugin: early,
        includeTests: opts.includeTests,
        allowSecrets: opts.allowSecret,
        dryRun: opts.dryRun,
        mtime,
        signal,
        onProgress: progress.update,
        beforeCommit: async () => {
          // After a long build on a terminal, say why the finished archive is not there yet.
          const shown = progress.shown;
          progress.stop();
          if (!validated && shown) ctx.out.info('packed; waiting for the code checks to finish ...');
          const r = await validation;
          if (!r.ok) throw new Error('validation failed');
        },
      })
    : undefined;
  packing?.catch(() => undefined); // awaited below

  let report: Awaited<typeof validation>;
  try {
    report = await validation;
  } catch (err) {
    stop.abort();
    await packing?.catch(() => undefined);
    progress.stop();
    throw err;
  }
  if (!report.ok || !report.manifest || !packing) {
    stop.abort();
    await packing?.catch(() => undefined);
    progress.stop();
    for (const d of report.errors) out.stderr.write(`${formatDiagnostic(d)}\n`);
    const n = report.errors.length;
    throw new WorkFailedError(`validation failed with ${n} error${n === 1 ? '' : 's'}; nothing was built`, {
      code: 'VALIDATION_FAILED',
      hint: 'fix the errors above (`plexichat-plugin validate` shows them too), then build again',
      details: { diagnostics: report.errors },
    });
  }
  if (report.warnings.length > 0 && !out.quiet) {
    for (const d of report.warnings) out.stderr.write(`${formatDiagnostic(d)}\n`);
  }
  const plugin = early!;

  let outcome: BuildOutcome;
  try {
    outcome = await packing;
  } finally {
    progress.stop();
  }

  const { list } = outcome;
  const warnings = [...list.warnings, ...outcome.unusedAllows.map((a) => `--allow-secret ${a} matches no packed file`)];
  // What the marketplace would refuse (verifyArchive's default limits).
  const bytesIn = list.files.reduce((n, f) => n + f.size, 0);
  if (list.files.length + 1 > VERIFY_DEFAULTS.maxEntries) {
    warnings.push(`${list.files.length + 1} entries: the marketplace accepts at most ${VERIFY_DEFAULTS.maxEntries}; drop files with .pluginignore`);
  }
  if (bytesIn > VERIFY_DEFAULTS.maxUncompressedBytes) {
    warnings.push(`${formatBytes(bytesIn)} unpacked: the marketplace accepts at most ${formatBytes(VERIFY_DEFAULTS.maxUncompressedBytes)}`);
  }
  if (outcome.archive && outcome.archive.size > VERIFY_DEFAULTS.maxArchiveBytes) {
    warnings.push(`the archive is ${formatBytes(outcome.archive.size)}: the marketplace accepts at most ${formatBytes(VERIFY_DEFAULTS.maxArchiveBytes)}`);
  }
  for (const w of warnings) out.warn(w);

  if (opts.explain && list.problems.length + outcome.secrets.length > 0) renderExplain(list.decisions, ctx);
  if (list.problems.length > 0) throw problemError(list.problems, ctx);
  if (outcome.secrets.length > 0) {
    const lines = outcome.secrets.map(
      (s) => `${s.file}${s.line > 0 ? `:${s.line}` : ''} [${s.rule}] ${s.description}`,
    );
    for (const l of lines.slice(0, -1)) out.error(l);
    const last = lines[lines.length - 1]!;
    throw new WorkFailedError(
      lines.length === 1 ? `refusing to pack a likely secret: ${last}` : `${last}\nrefusing to pack ${lines.length} likely secrets`,
      {
        code: 'SECRET_FOUND',
        hint: 'remove it, add the file to .pluginignore, or pass --allow-secret <path> if it is not a secret',
        details: { secrets: outcome.secrets },
      },
    );
  }

  const result: BuildResult = {
    dryRun: Boolean(opts.dryRun),
    plugin,
    files: list.files.length,
    bytesIn,
    warnings,
  };
  if (opts.dryRun) result.list = list.files.map((f) => ({ path: f.path, size: f.size }));
  if (opts.explain) result.explain = list.decisions;
  if (outcome.archive) {
    result.archive = outcome.archive.path;
    result.sha256 = outcome.archive.sha256;
    result.size = outcome.archive.size;
    result.sha256File = outcome.archive.sha256Path;
  }
  return result;
}

export function render(r: BuildResult, ctx: Ctx): void {
  const { out } = ctx;
  if (r.explain) renderExplain(r.explain, ctx);
  if (r.dryRun) {
    if (!r.explain) {
      const w = Math.max(...(r.list ?? []).map((f) => formatBytes(f.size).length), 1);
      for (const f of r.list ?? []) out.result(`${formatBytes(f.size).padStart(w)}  ${f.path}`);
    }
    out.result(
      `${r.plugin.name} ${r.plugin.version}: ${r.files} file${r.files === 1 ? '' : 's'}, ${formatBytes(r.bytesIn)} would be packed (dry run, nothing written)`,
    );
    return;
  }
  const rel = path.relative(ctx.cwd, r.archive!) || r.archive!;
  out.result(`${out.c.green('✔')} built ${rel.startsWith('..') ? r.archive : rel}`);
  out.result(`  files   ${r.files}`);
  out.result(`  in      ${formatBytes(r.bytesIn)}`);
  out.result(`  out     ${formatBytes(r.size!)}`);
  out.result(`  sha256  ${r.sha256}`);
}

function renderExplain(decisions: Decision[], ctx: Ctx): void {
  const mark: Record<Decision['action'], string> = { kept: '+', dropped: '-', refused: '!', skipped: '~' };
  const w = Math.max(...decisions.map((d) => d.path.length), 1);
  for (const d of decisions) ctx.out.result(`${mark[d.action]} ${d.path.padEnd(w)}  ${d.action}: ${d.rule}`);
}

const HINTS: Record<string, string> = {
  SYMLINK_OUTSIDE: 'copy the file into the project, or add the link to .pluginignore',
  SYMLINK_DIR: 'replace the link with a real folder, or add it to .pluginignore',
  UNREADABLE: 'make it readable (or restore the missing file), or add it to .pluginignore',
  NAME_TWIN: 'rename one of them: the archive must unpack on case-insensitive file systems',
  RESERVED_NAME: 'rename the file; build generates this name',
};

function problemError(problems: FileListProblem[], ctx: Ctx): WorkFailedError {
  for (const p of problems.slice(0, -1)) ctx.out.error(p.message);
  const last = problems[problems.length - 1]!;
  const hint = HINTS[last.code] ?? 'rename the file (portable names only), or add it to .pluginignore';
  const message =
    problems.length === 1 ? last.message : `${last.message}\n${problems.length} files cannot be packed; nothing was written`;
  return new WorkFailedError(message, { code: last.code, hint, details: { problems } });
}

/** Check (and create) the output folder; true when this call created it. */
async function checkOutDir(outDir: string, given: string | undefined, create: boolean): Promise<boolean> {
  try {
    const st = await fs.stat(outDir);
    if (st.isDirectory()) return false;
    const msg = `the output folder ${given ?? 'dist'} exists and is not a folder`;
    const hint = given ? 'pass --out with a folder path' : 'move the file named dist away, or pass --out <dir>';
    throw given ? new UsageError(msg, { hint, code: 'OUT_NOT_A_DIR' }) : new WorkFailedError(msg, { hint, code: 'OUT_NOT_A_DIR' });
  } catch (err) {
    if (err instanceof UsageError || err instanceof WorkFailedError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      if (!create) return false;
      try {
        await fs.mkdir(outDir, { recursive: true });
        return true;
      } catch (e) {
        const c = errnoCode(e);
        if (c === 'ENOTDIR' || c === 'EEXIST') {
          throw new UsageError(`the output folder ${given ?? 'dist'} is inside a file`, { hint: 'pass --out with a folder path' });
        }
        throw new WorkFailedError(`cannot create the output folder ${given ?? 'dist'} (${c ?? (e as Error).message})`, {
          hint: 'check the permissions, or pass --out <dir>',
        });
      }
    }
    if (code === 'ENOTDIR') {
      throw new UsageError(`the output folder ${given ?? 'dist'} is inside a file`, { hint: 'pass --out with a folder path' });
    }
    throw new WorkFailedError(`cannot use the output folder ${given ?? 'dist'} (${code ?? (err as Error).message})`, {
      hint: 'check the permissions, or pass --out <dir>',
    });
  }
}

function sourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim())) {
    throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got ${JSON.stringify(v)}`, {
      hint: 'unset it, or set it to e.g. $(git log -1 --format=%ct)',
    });
  }
  return Number(v);
}

interface Progress {
  update: (done: number, total: number) => void;
  stop: () => void;
  /** A bar was drawn (the build is a long one). */
  readonly shown: boolean;
}

/** A progress bar on stderr for builds that take a while; only on a TTY, never in CI or --json/--quiet. */
function createProgress(ctx: Ctx): Progress {
  if (!ctx.out.canAnimate || isCI(ctx.env)) return { update: () => undefined, stop: () => undefined, shown: false };
  const started = ctx.clock.now();
  let bar: { update(v: number): void; stop(): void; start(t: number, v: number): void } | undefined;
  let loading = false;
  let last = { done: 0, total: 0 };
  let stopped = false;
  return {
    update(done, total) {
      last = { done, total };
      if (bar) {
        bar.update(done);
        return;
      }
      // Large inputs get the bar at once; others only when they turn out slow.
      if (loading || stopped || (total < 16 * 1024 * 1024 && ctx.clock.now() - started < 500)) return;
      loading = true;
      void import('cli-progress').then((m) => {
        if (stopped) return;
        const mod = (m as unknown as { default?: typeof m }).default ?? m;
        const b = new mod.SingleBar(
          {
            stream: ctx.out.stderr as NodeJS.WriteStream,
            format: 'packing [{bar}] {percentage}% | {value}/{total} bytes',
            hideCursor: true,
            clearOnComplete: true,
          },
          mod.Presets.shades_classic,
        );
        b.start(last.total, last.done);
        bar = b;
      });
    },
    stop() {
      stopped = true;
      bar?.stop();
    },
    get shown() {
      return bar !== undefined;
    },
  };
}
