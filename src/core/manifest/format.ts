import type { Diagnostic } from './types.js';
import { inline } from '../../io/terminal.js';

/** "file:line:col" (or just "file" when the finding is about the whole file). */
export function location(d: Pick<Diagnostic, 'file' | 'line' | 'column'>): string {
  if (!d.line) return d.file;
  return d.column ? `${d.file}:${d.line}:${d.column}` : `${d.file}:${d.line}`;
}

/**
 * One line: "config/plugin.yaml:3:9 error INVALID_VERSION message", then the
 * hint on its own line. The file name, message and hint can carry manifest or
 * code text (a value with a line break): each stays on its line (io/terminal.ts inline).
 */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${inline(location(d))} ${d.severity} ${d.code} ${inline(d.message)}`;
  return d.hint ? `${head}\n    fix: ${inline(d.hint)}` : head;
}
