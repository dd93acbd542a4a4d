/**
 * The dependency diff beside the permission diff: which Python packages a
 * version adds, removes or changes (its range in `dependencies.packages`, or
 * its locked version: the wheels an archive packs, the project's
 * pylock.toml). Pure; kept apart from the manifest diff (diff.ts) so each
 * can grow on its own.
 */
import { requirementName } from '../core/manifest/rules.js';

export interface DependencySide {
  /** The requirement as written (`alpha>=1.0`); absent: not required directly. */
  range?: string;
  /** The exact version locked (or packed); absent: not locked. */
  locked?: string;
}

export interface DependencySummary {
  /** Normalized name -> what this version says of it. */
  packages: Record<string, DependencySide>;
  /** Whether this side has a lock (a packed wheel section, or pylock.toml): locked versions are compared only when both do. */
  hasLock: boolean;
}

export interface DependencyChange {
  name: string;
  from?: DependencySide;
  to?: DependencySide;
}

export interface DependencyDiff {
  added: DependencyChange[];
  removed: DependencyChange[];
  /** The range or the locked version changed. */
  changed: DependencyChange[];
  unchanged: boolean;
}

/** The summary of a manifest's `dependencies.packages` and, when there is one, a lock's runtime packages. */
export function dependencySummary(packages: readonly unknown[] | undefined, locked?: readonly { name: string; version: string }[]): DependencySummary {
  const out: Record<string, DependencySide> = {};
  for (const p of packages ?? []) if (typeof p === 'string' && p.trim()) out[requirementName(p)] = { range: p.trim() };
  for (const l of locked ?? []) {
    const name = requirementName(l.name);
    out[name] = { ...out[name], locked: l.version };
  }
  return { packages: out, hasLock: locked !== undefined };
}

function side(s: DependencySide, withLock: boolean): DependencySide {
  return { ...(s.range ? { range: s.range } : {}), ...(withLock && s.locked ? { locked: s.locked } : {}) };
}

export function diffDependencies(before: DependencySummary, after: DependencySummary): DependencyDiff {
  const withLock = before.hasLock && after.hasLock;
  const keep = (s: DependencySummary) => Object.entries(s.packages).filter(([, v]) => v.range || (withLock && v.locked));
  const a = new Map(keep(before).map(([n, v]) => [n, side(v, withLock)]));
  const b = new Map(keep(after).map(([n, v]) => [n, side(v, withLock)]));
  const d: DependencyDiff = { added: [], removed: [], changed: [], unchanged: true };
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const from = a.get(name);
    const to = b.get(name);
    if (!from) d.added.push({ name, to });
    else if (!to) d.removed.push({ name, from });
    else if (from.range !== to.range || from.locked !== to.locked) d.changed.push({ name, from, to });
  }
  d.unchanged = d.added.length + d.removed.length + d.changed.length === 0;
  return d;
}

function text(s: DependencySide | undefined): string {
  if (!s) return '';
  return [s.range, s.locked ? `locked ${s.locked}` : undefined].filter(Boolean).join(', ') || 'not required directly';
}

/** The diff as lines a person reads: `+ package gamma (gamma>=1, locked 1.0.0)`, `~ package alpha: alpha>=1 -> alpha>=1.1`. */
export function dependencyLines(d: DependencyDiff): string[] {
  if (d.unchanged) return ['no change in Python packages'];
  return [
    ...d.added.map((c) => `+ package ${c.name} (${text(c.to)})`),
    ...d.changed.map((c) => `~ package ${c.name}: ${text(c.from)} -> ${text(c.to)}`),
    ...d.removed.map((c) => `- package ${c.name} (was ${text(c.from)})`),
  ];
}

function parseSide(v: unknown): DependencySide | undefined | false {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  if ((o.range !== undefined && typeof o.range !== 'string') || (o.locked !== undefined && typeof o.locked !== 'string')) return false;
  return { ...(typeof o.range === 'string' ? { range: o.range } : {}), ...(typeof o.locked === 'string' ? { locked: o.locked } : {}) };
}

function parseChanges(v: unknown): DependencyChange[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: DependencyChange[] = [];
  for (const c of v as unknown[]) {
    const o = c as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string') return undefined;
    const [from, to] = [parseSide(o.from), parseSide(o.to)];
    if (from === false || to === false) return undefined;
    out.push({ name: o.name, ...(from ? { from } : {}), ...(to ? { to } : {}) });
  }
  return out;
}

/** A dependency diff read back from JSON (a server answer: `permission_diff.dependencies`); undefined when it is not one. */
export function parseDependencyDiff(v: unknown): DependencyDiff | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const [added, removed, changed] = [parseChanges(o.added), parseChanges(o.removed), parseChanges(o.changed)];
  if (!added || !removed || !changed) return undefined;
  return { added, removed, changed, unchanged: added.length + removed.length + changed.length === 0 };
}
