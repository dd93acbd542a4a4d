import type { Ctx } from '../context.js';
import { formatDiagnostic } from '../core/manifest/format.js';
import type { Diagnostic } from '../core/manifest/types.js';
import type { FailOn, Note } from '../core/checks/security.js';
import { validateProject, type ValidationReport } from '../project/validate.js';
import { UsageError } from '../errors.js';
import { verbatim } from '../io/json-document.js';
import { diffLines, type AgainstResult } from '../release/diff.js';
import { annotation } from '../release/check/github.js';

export interface ValidateOptions {
  strict?: boolean;
  /** An earlier archive (.zip) or 'published': list what changed since then. */
  against?: string;
  /** Run bandit over src/ too. */
  security?: boolean;
  /** With --security: the lowest bandit severity that fails validation (default high). */
  failOn?: FailOn;
}

export async function run(opts: ValidateOptions, ctx: Ctx): Promise<ValidationReport & { against?: AgainstResult }> {
  if (opts.failOn && !opts.security) {
    throw new UsageError('--fail-on applies to the security review: add --security', { code: 'USAGE', hint: 'plexichat-plugin validate --security --fail-on medium' });
  }
  const security = opts.security ? { failOn: opts.failOn ?? 'high' } : undefined;
  const report = await validateProject(ctx.cwd, { env: ctx.env, strict: opts.strict, security });
  // The manifest as the user wrote it: its settings and resources maps have keys of their choosing.
  if (report.manifest) verbatim(report.manifest);
  if (!opts.against || !report.manifest) return report;
  const [{ diffAgainst }, { manifestSummary }] = await Promise.all([import('../release/against.js'), import('../release/diff.js')]);
  return { ...report, against: await diffAgainst(ctx, opts.against, manifestSummary(report.manifest)) };
}

export function exitCode(r: ValidationReport): number {
  return r.ok ? 0 : 1;
}

/** Errors first, then warnings, then notes; each "file:line:col severity CODE message" with its fix. */
export function renderDiagnostics(r: Pick<ValidationReport, 'errors' | 'warnings'> & { infos?: Note[] }, ctx: Ctx): void {
  const { out } = ctx;
  const paint = (d: Diagnostic | Note) => {
    const [head, ...rest] = formatDiagnostic(d as Diagnostic).split('\n');
    const word = d.severity === 'error' ? out.c.red('error') : d.severity === 'warning' ? out.c.yellow('warning') : out.c.dim('info');
    out.result([head!.replace(` ${d.severity} `, ` ${word} `), ...rest.map((l) => out.c.dim(l))].join('\n'));
    if (ctx.env.GITHUB_ACTIONS === 'true') {
      const level = d.severity === 'info' ? 'note' : d.severity;
      out.result(annotation({ level, file: d.file, line: d.line, column: d.column, message: `${d.code} ${d.message}` }));
    }
  };
  if (r.errors.length) {
    out.result(out.c.bold('Errors:'));
    r.errors.forEach(paint);
  }
  if (r.warnings.length) {
    if (r.errors.length) out.result();
    out.result(out.c.bold('Warnings:'));
    r.warnings.forEach(paint);
  }
  if (r.infos?.length) {
    if (r.errors.length || r.warnings.length) out.result();
    out.result(out.c.bold('Notes:'));
    r.infos.forEach(paint);
  }
}

export function render(r: ValidationReport & { against?: AgainstResult }, ctx: Ctx): void {
  const { out } = ctx;
  renderDiagnostics(r, ctx);
  if (r.against) {
    if (r.errors.length || r.warnings.length) out.result();
    for (const l of diffLines(r.against)) out.result(l);
  }
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  const notes = r.infos.length ? `, ${n(r.infos.length, 'note')}` : '';
  const counts = `${n(r.errors.length, 'error')}, ${n(r.warnings.length, 'warning')}${notes}`;
  if (r.errors.length || r.warnings.length || r.infos.length) out.result();
  if (r.security) {
    const how = r.security.command ? `bandit (${r.security.command.join(' ')})` : 'bandit (not found)';
    out.result(out.c.dim(`security review: ${how}: ${n(r.security.findings, 'finding')}, failing at ${r.security.failOn} severity and above`));
  }
  if (r.ok) {
    const what = r.manifest ? `${r.manifest.plugin.name} ${r.manifest.plugin.version}` : 'the plugin';
    out.result(`${out.c.green('✔')} ${what} is valid (${counts})`);
  } else {
    out.result(`${out.c.red('✖')} validation failed: ${counts}`);
  }
}
