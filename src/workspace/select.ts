/**
 * Which plugins of a workspace a run covers: --all (the default at the
 * workspace root), --plugin NAME (repeatable; a name or the folder), or
 * --affected --base REF [--head REF] (affected.ts). Contradicting flags are
 * a usage error before anything runs.
 */
import { UsageError } from '../errors.js';
import { didYouMean } from '../core/suggest.js';
import { affectedMembers, changedFiles } from './affected.js';
import type { Member, Workspace } from './members.js';

export interface SelectFlags {
  all?: boolean;
  plugin?: string[];
  affected?: boolean;
  base?: string;
  head?: string;
}

export interface Selection {
  mode: 'all' | 'plugins' | 'affected';
  members: Member[];
  base?: string;
  head?: string;
  /** --affected: how many files changed, and why each plugin was chosen. */
  changedFiles?: number;
  reasons?: Record<string, string[]>;
}

/** True when any flag asks for a workspace run. */
export function wantsWorkspace(f: SelectFlags): boolean {
  return Boolean(f.all || (f.plugin && f.plugin.length > 0) || f.affected || f.base !== undefined || f.head !== undefined);
}

export function checkFlags(f: SelectFlags): void {
  const modes = [f.all && '--all', f.plugin?.length && '--plugin', f.affected && '--affected'].filter(Boolean);
  if (modes.length > 1)
    throw new UsageError(`${modes.join(' and ')} choose plugins two ways`, { hint: 'use one of --all, --plugin NAME, --affected --base REF' });
  if ((f.base !== undefined || f.head !== undefined) && !f.affected) {
    throw new UsageError(`${f.base !== undefined ? '--base' : '--head'} applies to --affected`, { hint: 'e.g. --affected --base origin/main' });
  }
  if (f.affected && (f.base === undefined || f.base === ''))
    throw new UsageError('--affected needs --base REF', { hint: 'e.g. --affected --base origin/main' });
}

function byName(ws: Workspace, wanted: string[]): Member[] {
  const out: Member[] = [];
  for (const w of wanted) {
    const clean = w.replace(/\/+$/, '');
    const m = ws.members.find((x) => x.name === clean || x.rel === clean);
    if (!m) {
      const names = ws.members.map((x) => x.name);
      throw new UsageError(`--plugin ${w}: no such plugin in the workspace${didYouMean(clean, names)}`, {
        code: 'UNKNOWN_PLUGIN',
        hint: names.length ? `the plugins are: ${names.join(', ')}` : 'the workspace lists no plugin folder holding config/plugin.yaml',
      });
    }
    if (!out.includes(m)) out.push(m);
  }
  return ws.members.filter((m) => out.includes(m));
}

export async function selectMembers(ws: Workspace, f: SelectFlags, env: NodeJS.ProcessEnv): Promise<Selection> {
  checkFlags(f);
  if (f.plugin?.length) return { mode: 'plugins', members: byName(ws, f.plugin) };
  if (!f.affected) return { mode: 'all', members: ws.members };
  const changed = await changedFiles(ws.spec.root, { base: f.base!, head: f.head, env });
  const hit = await affectedMembers(ws, changed);
  return {
    mode: 'affected',
    members: hit.map((h) => h.member),
    base: f.base,
    ...(f.head !== undefined ? { head: f.head } : {}),
    changedFiles: changed.length,
    reasons: Object.fromEntries(hit.map((h) => [h.member.name, h.reasons])),
  };
}
