import type { Ctx } from '../io/context.js';
import type { FailOn } from '../core/checks/security.js';
import { validateProject, type ValidationReport } from '../project/validate.js';
import { UsageError } from '../errors.js';
import { verbatim } from '../io/json-document.js';
import { diffLines, type AgainstResult } from '../release/diff.js';
import { renderDiagnostics } from '../project/render-diagnostics.js';
import { inline } from '../io/terminal.js';

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
    throw new UsageError('--fail-on applies to the security review: add --security', {
      code: 'USAGE',
      hint: 'plexichat-plugin validate --security --fail-on medium',
    });
  }
  const security = opts.security ? { failOn: opts.failOn ?? 'high' } : undefined;
  const report = await validateProject(ctx.cwd, { env: ctx.env, strict: opts.strict, security });
  // The manifest as the user wrote it: its settings and resources maps have keys of their choosing.
  if (report.manifest) verbatim(report.manifest);
  if (!opts.against || !report.manifest) return report;
  const [{ diffAgainst, currentDependencies }, { manifestSummary }] = await Promise.all([import('../release/against.js'), import('../release/diff.js')]);
  const packages = report.manifest.dependencies?.packages;
  const deps = await currentDependencies(ctx.cwd, packages);
  return { ...report, against: await diffAgainst(ctx, opts.against, manifestSummary(report.manifest), packages, deps) };
}

export function exitCode(r: ValidationReport): number {
  return r.ok ? 0 : 1;
}

export function render(r: ValidationReport & { against?: AgainstResult }, ctx: Ctx): void {
  const { out } = ctx;
  renderDiagnostics(r, ctx);
  if (r.against) {
    if (r.errors.length || r.warnings.length) out.result();
    for (const l of diffLines(r.against)) out.result(inline(l));
  }
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  const notes = r.infos.length ? `, ${n(r.infos.length, 'note')}` : '';
  const counts = `${n(r.errors.length, 'error')}, ${n(r.warnings.length, 'warning')}${notes}`;
  if (r.errors.length || r.warnings.length || r.infos.length) out.result();
  if (r.security) {
    const how = r.security.command ? `bandit (${r.security.command.join(' ')})` : 'bandit (not found)';
    out.result(out.c.dim(`security review: ${inline(how)}: ${n(r.security.findings, 'finding')}, failing at ${r.security.failOn} severity and above`));
  }
  if (r.ok) {
    const what = r.manifest ? `${r.manifest.plugin.name} ${r.manifest.plugin.version}` : 'the plugin';
    out.result(`${out.c.green('✔')} ${inline(what)} is valid (${counts})`);
  } else {
    out.result(`${out.c.red('✖')} validation failed: ${counts}`);
  }
}
