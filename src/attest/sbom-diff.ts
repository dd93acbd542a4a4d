/**
 * What changed in the SBOM between two versions: the library components
 * (the plugin's dependencies) added, removed, or with another version (a
 * locked version, else the declared requirement). Pure; release/against.ts
 * reads the two SBOMs (docs/signing.md, "What changed in the SBOM").
 */
import { isObject, parseSmallJson } from '../core/schema/issues.js';
import { MAX_SBOM_BYTES, type SbomDependency } from './sbom.js';

/** A component as the diff sees it: its name and its version (or requirement when no version is locked). */
export interface SbomComponent {
  name: string;
  version: string;
}

export interface SbomDiff {
  added: SbomComponent[];
  removed: SbomComponent[];
  changed: { name: string; from: string; to: string }[];
}

function requirementOf(c: Record<string, unknown>): string | undefined {
  if (!Array.isArray(c.properties)) return undefined;
  const p: unknown = (c.properties as unknown[]).find((x) => isObject(x) && x.name === 'plexichat:requirement');
  return isObject(p) && typeof p.value === 'string' ? p.value : undefined;
}

/** The library components of an SBOM's text (the root is in metadata, not here); throws on a document that is not one. */
export function sbomComponents(text: string): SbomComponent[] {
  const doc = parseSmallJson(text, MAX_SBOM_BYTES);
  if (!isObject(doc) || !Array.isArray(doc.components)) throw new Error('it is not a CycloneDX SBOM (no "components")');
  return doc.components
    .filter((c: unknown): c is Record<string, unknown> => isObject(c) && c.type === 'library' && typeof c.name === 'string')
    .map((c) => ({ name: c.name as string, version: typeof c.version === 'string' ? c.version : (requirementOf(c) ?? (c.name as string)) }));
}

/** The components a build would list for these dependencies. */
export function componentsOf(deps: SbomDependency[]): SbomComponent[] {
  return deps.map((d) => ({ name: d.name, version: d.version ?? d.requirement }));
}

export function diffComponents(before: SbomComponent[], after: SbomComponent[]): SbomDiff {
  const was = new Map(before.map((c) => [c.name, c.version]));
  const now = new Map(after.map((c) => [c.name, c.version]));
  const sort = <T extends { name: string }>(xs: T[]) => xs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    added: sort(after.filter((c) => !was.has(c.name))),
    removed: sort(before.filter((c) => !now.has(c.name))),
    changed: sort([...now].filter(([n, v]) => was.has(n) && was.get(n) !== v).map(([name, to]) => ({ name, from: was.get(name)!, to }))),
  };
}

/** Lines for a terminal; none when nothing changed. */
export function sbomDiffLines(d: SbomDiff): string[] {
  return [
    ...d.added.map((c) => `+ component ${c.name} ${c.version}`),
    ...d.removed.map((c) => `- component ${c.name} ${c.version}`),
    ...d.changed.map((c) => `~ component ${c.name} ${c.from} → ${c.to}`),
  ];
}
