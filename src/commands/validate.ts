import type { Ctx } from '../context.js';
import { formatDiagnostic } from '../core/manifest/format.js';
import type { Diagnostic } from '../core/manifest/types.js';
import { validateProject, type ValidationReport } from '../project/validate.js';
import { diffLines, type AgainstResult } from '../release/diff.js';
import { annotation } from '../release/check/github.js';

export interface ValidateOptions {
  strict?: boolean;
  /** An earlier archive (.zip) or 'published': list what changed since then. */
  against?: string;
}

export async function run(opts: ValidateOptions, ctx: Ctx): Promise<ValidationReport & { against?: AgainstResult }> {
  const report = await validateProject(ctx.cwd, { env: ctx.env, strict: opts.strict });
  if (!opts.against || !report.manifest) return report;
  const [{ diffAgainst }, { manifestSummary }] = await Promise.all([import('../release/against.js'), import('../release/diff.js')]);
  return { ...report, against: await diffAgainst(ctx, opts.against, manifestSummary(report.manifest)) };
}

export function exitCode(r: ValidationReport): number {
  return r.ok ? 0 : 1;
}

/** Errors first, then warnings; each "file:line:col severity CODE message" with its fix. */
export function renderDiagnostics(r: Pick<ValidationReport, 'errors' | 'warnings'>, ctx: Ctx): void {
  const { out } = ctx;
  const paint = (d: Diagnostic) => {
    const [head, ...rest] = formatDiagnostic(d).split('\n');
    const colored = head.replace(` ${d.severity} `, ` ${d.severity === 'error' ? out.c.red('error') : out.c.yellow('warning')} `);
    out.result([colored, ...rest.map((l) => out.c.dim(l))].join('\n'));
    if (ctx.env.GITHUB_ACTIONS === 'true') {
      out.result(annotation({ level: d.severity, file: d.file, line: d.line, column: d.column, message: `${d.code} ${d.message}` }));
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
}

export function render(r: ValidationReport & { against?: AgainstResult }, ctx: Ctx): void {
  const { out } = ctx;
  renderDiagnostics(r, ctx);
  if (r.against) {
    if (r.errors.length || r.warnings.length) out.result();
    for (const l of diffLines(r.against)) out.result(l);
  }
  const counts = `${r.errors.length} error${r.errors.length === 1 ? '' : 's'}, ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}`;
  if (r.errors.length || r.warnings.length) out.result();
  if (r.ok) {
    const what = r.manifest ? `${r.manifest.plugin.name} ${r.manifest.plugin.version}` : 'the plugin';
    out.result(`${out.c.green('✔')} ${what} is valid (${counts})`);
  } else {
    out.result(`${out.c.red('✖')} validation failed: ${counts}`);
  }
}
