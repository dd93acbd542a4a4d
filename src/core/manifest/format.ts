import type { Diagnostic } from './types.js';

/** "file:line:col" (or just "file" when the finding is about the whole file). */
export function location(d: Pick<Diagnostic, 'file' | 'line' | 'column'>): string {
  if (!d.line) return d.file;
  return d.column ? `${d.file}:${d.line}:${d.column}` : `${d.file}:${d.line}`;
}

/** One line: "config/plugin.yaml:3:9 error INVALID_VERSION message", then the hint. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${location(d)} ${d.severity} ${d.code} ${d.message}`;
  return d.hint ? `${head}\n    fix: ${d.hint}` : head;
}
