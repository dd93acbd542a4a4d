/**
 * Validation findings as the terminal shows them (validate, and dev after
 * each save): errors first, then warnings, then notes; with a GitHub
 * Actions annotation for each when run there.
 */
import type { Ctx } from '../io/context.js';
import { formatDiagnostic } from '../core/manifest/format.js';
import type { Diagnostic } from '../core/manifest/types.js';
import type { Note } from '../core/checks/security.js';
import type { ValidationReport } from './validate.js';
import { annotation } from '../check/github.js';

/** Errors first, then warnings, then notes; each "file:line:col severity CODE message" with its fix. */
export function renderDiagnostics(r: Pick<ValidationReport, 'errors' | 'warnings'> & { infos?: Note[] }, ctx: Ctx): void {
  const { out } = ctx;
  const paint = (d: Diagnostic | Note) => {
    const [head, ...rest] = formatDiagnostic(d as Diagnostic).split('\n');
    const word = d.severity === 'error' ? out.c.red('error') : d.severity === 'warning' ? out.c.yellow('warning') : out.c.dim('info');
    out.result([head.replace(` ${d.severity} `, ` ${word} `), ...rest.map((l) => out.c.dim(l))].join('\n'));
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
