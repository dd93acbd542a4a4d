/**
 * A PEP 508 requirement as the manifest writes it (`pandas>=1.3.0`,
 * `requests[socks]>=2; python_version < "3.12"`), split into what the lock
 * compares: the normalized name (PEP 503), the extras, the version
 * specifier and the marker. Resolution itself is pip's; this only reads.
 */
import { satisfies, validRange } from '@renovatebot/pep440';

export interface Requirement {
  /** As written. */
  text: string;
  /** PEP 503 normalized: lower case, runs of `-_.` as one `-`. */
  name: string;
  extras: string[];
  /** The version specifier, e.g. `>=1.3.0,<2` ('' for any version). */
  specifier: string;
  marker?: string;
}

const REQUIREMENT = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(?:\(([^)]*)\)|([^;@]*?))\s*(?:;\s*(.*?))?\s*$/;

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The requirement, or a one-line reason it is not one this CLI can lock (a direct URL, a bad specifier). */
export function parseRequirement(text: string): Requirement | { error: string } {
  if (text.includes('@') && !text.split(';')[0].includes('==')) {
    return { error: `${JSON.stringify(text)} is a direct reference (name @ url); the lock takes names with version ranges from an index` };
  }
  const m = REQUIREMENT.exec(text);
  if (!m) return { error: `${JSON.stringify(text)} is not a PEP 508 requirement (name, optional [extras], optional version range)` };
  const specifier = (m[3] ?? m[4] ?? '').trim().replace(/\s+/g, '');
  if (specifier && !validRange(specifier)) return { error: `${JSON.stringify(text)} has a version range PEP 440 does not accept: ${specifier}` };
  const extras = (m[2] ?? '')
    .split(',')
    .map((e) => normalizeName(e.trim()))
    .filter(Boolean)
    .sort();
  return { text: text.trim(), name: normalizeName(m[1]), extras, specifier, marker: m[5] || undefined };
}

/** True when `version` is inside the requirement's range (any version when it has none). */
export function admits(req: Requirement, version: string): boolean {
  return !req.specifier || satisfies(version, req.specifier, { prereleases: true });
}
