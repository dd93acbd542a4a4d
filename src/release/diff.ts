/**
 * The manifest summary (what a plugin version asks for: permissions, hooks,
 * endpoints) and the diff between two of them. One definition for the CLI
 * (`validate --against`, `marketplace submit`, `check`) and the development
 * marketplace (which stores the summary of every verified archive and
 * diffs a submission against the latest published version). Pure.
 */
import { sbomDiffLines, type SbomDiff } from '../attest/sbom-diff.js';
import type { Manifest } from '../core/manifest/types.js';
import { valueText } from '../io/value-text.js';
import { dependencyLines, type DependencyDiff } from './deps-diff.js';

export interface ManifestSummary {
  name: string;
  version: string;
  permissions: { required: string[]; optional: string[] };
  hooks: string[];
  endpoints: string[];
}

export type PermissionLevel = 'required' | 'optional';

export interface PermissionChange {
  name: string;
  /** Where it was before (absent: newly added). */
  from?: PermissionLevel;
  /** Where it is now (absent: removed). */
  to?: PermissionLevel;
}

export interface ManifestDiff {
  /** The versions compared. */
  from: { name: string; version: string };
  to: { name: string; version: string };
  permissions: {
    added: PermissionChange[];
    removed: PermissionChange[];
    /** Moved between required and optional. */
    moved: PermissionChange[];
  };
  hooks: { added: string[]; removed: string[] };
  endpoints: { added: string[]; removed: string[] };
  /** Permissions required now that were not required before (added as required, or moved from optional): what a user's admin must approve. */
  newlyRequired: string[];
  /** True when nothing changed. */
  unchanged: boolean;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? [...new Set(v.filter((x): x is string => typeof x === 'string'))].sort() : []);

/** The summary of a manifest (or of manifest-shaped data: non-string entries are ignored). */
export function manifestSummary(m: Pick<Manifest, 'plugin' | 'permissions' | 'hooks' | 'endpoints'>): ManifestSummary {
  return {
    name: String(m.plugin?.name ?? ''),
    version: String(m.plugin?.version ?? ''),
    permissions: { required: strings(m.permissions?.required), optional: strings(m.permissions?.optional) },
    hooks: strings(m.hooks),
    endpoints: strings(m.endpoints),
  };
}

/** A summary read back from JSON (a server answer, a stored row); undefined when it is not one. */
export function parseSummary(v: unknown): ManifestSummary | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const p = (o.permissions ?? {}) as Record<string, unknown>;
  if (typeof o.name !== 'string' || typeof o.version !== 'string') return undefined;
  return {
    name: o.name,
    version: o.version,
    permissions: { required: strings(p.required), optional: strings(p.optional) },
    hooks: strings(o.hooks),
    endpoints: strings(o.endpoints),
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isLevel = (v: unknown): v is PermissionLevel => v === 'required' || v === 'optional';

function changes(v: unknown): PermissionChange[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: PermissionChange[] = [];
  for (const c of v) {
    if (!isObj(c) || typeof c.name !== 'string') return undefined;
    if (c.from !== undefined && !isLevel(c.from)) return undefined;
    if (c.to !== undefined && !isLevel(c.to)) return undefined;
    out.push({ name: c.name, ...(c.from ? { from: c.from } : {}), ...(c.to ? { to: c.to } : {}) });
  }
  return out;
}

/** A diff read back from JSON (a server answer); undefined when it is not one. */
export function parseDiff(v: unknown): ManifestDiff | undefined {
  if (!isObj(v) || !isObj(v.from) || !isObj(v.to) || !isObj(v.permissions) || !isObj(v.hooks) || !isObj(v.endpoints)) return undefined;
  const p = v.permissions;
  const [added, removed, moved] = [changes(p.added), changes(p.removed), changes(p.moved)];
  if (!added || !removed || !moved) return undefined;
  const pair = (o: Record<string, unknown>) => ({ name: valueText(o.name ?? ''), version: valueText(o.version ?? '') });
  const hooks = { added: strings(v.hooks.added), removed: strings(v.hooks.removed) };
  const endpoints = { added: strings(v.endpoints.added), removed: strings(v.endpoints.removed) };
  return {
    from: pair(v.from),
    to: pair(v.to),
    permissions: { added, removed, moved },
    hooks,
    endpoints,
    newlyRequired: [...added, ...moved].filter((c) => c.to === 'required').map((c) => c.name),
    unchanged:
      added.length + removed.length + moved.length + hooks.added.length + hooks.removed.length + endpoints.added.length + endpoints.removed.length === 0,
  };
}

function level(s: ManifestSummary, name: string): PermissionLevel | undefined {
  // A permission listed in both counts as required (validate reports the duplicate).
  if (s.permissions.required.includes(name)) return 'required';
  if (s.permissions.optional.includes(name)) return 'optional';
  return undefined;
}

function setDiff(before: string[], after: string[]): { added: string[]; removed: string[] } {
  return { added: after.filter((x) => !before.includes(x)), removed: before.filter((x) => !after.includes(x)) };
}

export function diffSummaries(before: ManifestSummary, after: ManifestSummary): ManifestDiff {
  const names = [
    ...new Set([...before.permissions.required, ...before.permissions.optional, ...after.permissions.required, ...after.permissions.optional]),
  ].sort();
  const added: PermissionChange[] = [];
  const removed: PermissionChange[] = [];
  const moved: PermissionChange[] = [];
  for (const name of names) {
    const from = level(before, name);
    const to = level(after, name);
    if (from === to) continue;
    if (!from) added.push({ name, to });
    else if (!to) removed.push({ name, from });
    else moved.push({ name, from, to });
  }
  const hooks = setDiff(before.hooks, after.hooks);
  const endpoints = setDiff(before.endpoints, after.endpoints);
  const newlyRequired = [...added, ...moved].filter((c) => c.to === 'required').map((c) => c.name);
  return {
    from: { name: before.name, version: before.version },
    to: { name: after.name, version: after.version },
    permissions: { added, removed, moved },
    hooks,
    endpoints,
    newlyRequired,
    unchanged:
      added.length + removed.length + moved.length + hooks.added.length + hooks.removed.length + endpoints.added.length + endpoints.removed.length === 0,
  };
}

/**
 * The diff as lines a person reads ("+ permission admin_access (required)"), most important first;
 * `note` adds to the mark of each newly required permission.
 */
export function describeDiff(d: ManifestDiff, note: (permission: string) => string = () => ''): string[] {
  if (d.unchanged) return [`no change in permissions, hooks or endpoints since ${d.from.version}`];
  const mark = (c: PermissionChange) => (c.to === 'required' ? `  NEW REQUIRED PERMISSION${note(c.name)}` : '');
  const lines: string[] = [];
  for (const c of d.permissions.added) lines.push(`+ permission ${c.name} (${c.to})${mark(c)}`);
  for (const c of d.permissions.moved) lines.push(`~ permission ${c.name}: ${c.from} -> ${c.to}${mark(c)}`);
  for (const c of d.permissions.removed) lines.push(`- permission ${c.name} (was ${c.from})`);
  for (const h of d.hooks.added) lines.push(`+ hook ${h}`);
  for (const h of d.hooks.removed) lines.push(`- hook ${h}`);
  for (const e of d.endpoints.added) lines.push(`+ endpoint ${e}`);
  for (const e of d.endpoints.removed) lines.push(`- endpoint ${e}`);
  return lines;
}

/** The diff for a reviewer: each change, with newly required permissions marked accepted or not. */
export function reviewLines(d: ManifestDiff, accepted: readonly string[]): string[] {
  if (d.unchanged) return [`no change in permissions, hooks or endpoints since ${d.from.version}`];
  const note = (p: string) => (accepted.includes(p) ? ' (accepted by the developer)' : ' (not accepted)');
  return [`changes since ${d.from.version} (the latest published version):`, ...describeDiff(d, note).map((l) => `  ${l}`)];
}

/**
 * Newly required permissions not accepted: what stops `marketplace submit`
 * (and `check --profile release`). Moving a permission to optional or
 * removing one never appears here.
 */
export function unaccepted(d: ManifestDiff, accepted: readonly string[]): string[] {
  return d.newlyRequired.filter((p) => !accepted.includes(p));
}

export type DiffBase =
  | { kind: 'archive'; file: string; version: string }
  | { kind: 'published'; marketplace: string; version: string }
  /** Nothing is published yet: there is no earlier version to compare with. */
  | { kind: 'none'; marketplace: string };

export interface AgainstResult {
  base: DiffBase;
  /** Absent when there is nothing to compare with. */
  diff?: ManifestDiff;
  /** Python packages added, removed or changed (range or locked version); absent when the base does not say (deps-diff.ts). */
  dependencies?: DependencyDiff;
  /** What changed in the SBOM's components (attest/sbom-diff.ts); absent when the base has no SBOM. */
  sbomDiff?: SbomDiff;
}

export function describeBase(b: DiffBase): string {
  if (b.kind === 'archive') return `${b.file} (${b.version})`;
  if (b.kind === 'published') return `${b.version}, published on ${b.marketplace}`;
  return `nothing published yet on ${b.marketplace}`;
}

/** Lines for a terminal: the base, then the changes. */
export function diffLines(r: AgainstResult): string[] {
  if (!r.diff) return [`compared with: ${describeBase(r.base)}; nothing to compare`];
  const deps = r.dependencies && !r.dependencies.unchanged ? dependencyLines(r.dependencies) : [];
  const sbom = r.sbomDiff ? sbomDiffLines(r.sbomDiff) : [];
  const sbomPart = r.sbomDiff ? [sbom.length > 0 ? '  SBOM components:' : '  SBOM components: unchanged', ...sbom.map((l) => `    ${l}`)] : [];
  return [`changes since ${describeBase(r.base)}:`, ...[...describeDiff(r.diff), ...deps].map((l) => `  ${l}`), ...sbomPart];
}
