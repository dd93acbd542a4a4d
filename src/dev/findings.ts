/**
 * What a save changed in validate's findings. `dev` reports each full
 * validation as the findings that are new and those that were resolved since
 * the last one, so an unchanged warning is not shown again on every save.
 * A finding is the same one when its severity, code, file and message are:
 * its line may move when lines are added above it.
 */
import type { Diagnostic } from '../core/manifest/types.js';

const UNIMPLEMENTED = new Set(['UNIMPLEMENTED_HOOK', 'UNIMPLEMENTED_ENDPOINT']);

export function findingKey(d: Diagnostic): string {
  return JSON.stringify([d.severity, d.code, d.file, d.message]);
}

export interface FindingsChange {
  /** Findings that were not there in the last report. */
  added: Diagnostic[];
  /** Findings of the last report that are gone. */
  resolved: Diagnostic[];
}

/** added and resolved between two lists, counting duplicates. */
export function diffFindings(before: readonly Diagnostic[], after: readonly Diagnostic[]): FindingsChange {
  const left = new Map<string, Diagnostic[]>();
  for (const d of before) left.set(findingKey(d), [...(left.get(findingKey(d)) ?? []), d]);
  const added: Diagnostic[] = [];
  for (const d of after) {
    const same = left.get(findingKey(d));
    if (same?.length) same.shift();
    else added.push(d);
  }
  return { added, resolved: [...left.values()].flat() };
}

/**
 * A file that does not parse hides what is in it from the scan: every hook and
 * endpoint declared in the manifest would be reported as unimplemented, and the
 * file's own findings (an undeclared permission) as resolved. While a syntax
 * error stands, those findings are taken from the last report instead (what was
 * known before the file broke), so the save reports the syntax error alone.
 */
export function withoutBlindSpots(after: readonly Diagnostic[], before: readonly Diagnostic[]): Diagnostic[] {
  const broken = new Set(after.filter((d) => d.code === 'PYTHON_SYNTAX').map((d) => d.file));
  if (broken.size === 0) return [...after];
  const blind = (d: Diagnostic) => UNIMPLEMENTED.has(d.code) || (broken.has(d.file) && d.code !== 'PYTHON_SYNTAX');
  return [...after.filter((d) => !blind(d)), ...before.filter(blind)];
}
