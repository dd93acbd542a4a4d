/**
 * Which plugins a change affects: a plugin is affected when a file under
 * its folder changed, or when a shared library it imports changed (the
 * imports are the scanner's, python/imports.ts), or when the workspace file
 * itself changed (it may name another plugin or library: every plugin is).
 * The changed files are git's: `git diff --name-only <base>...<head>`, or
 * without --head, everything since the merge base of <base> and HEAD
 * (commits, staged and unstaged changes) and the untracked files.
 */
import path from 'node:path';
import { UsageError, WorkFailedError } from '../errors.js';
import { git } from '../release/git.js';
import { projectImports } from '../python/imports.js';
import { WORKSPACE_FILE } from './file.js';
import type { Library, Member, Workspace } from './members.js';

export interface AffectedOptions {
  base: string;
  head?: string;
  env: NodeJS.ProcessEnv;
}

const first = (s: string) => s.trim().split('\n')[0] ?? '';

async function gitLines(args: string[], cwd: string, env: NodeJS.ProcessEnv, what: string): Promise<string[]> {
  const r = await git(args, cwd, env);
  if (r.error === 'ENOENT') throw new UsageError('--affected needs git, which is not installed', { code: 'GIT_NOT_FOUND', hint: 'install git, or use --all' });
  if (r.code !== 0) {
    const why = first(r.stderr) || first(r.stdout);
    const bad = /unknown revision|bad revision|ambiguous argument|no merge base|not a valid/i.test(why);
    if (bad)
      throw new UsageError(`--affected: ${what}: ${why}`, { code: 'BAD_REF', hint: 'pass a commit, branch or tag that exists here, e.g. --base origin/main' });
    if (/not a git repository/i.test(why))
      throw new UsageError('--affected needs a git work tree', { code: 'NOT_A_GIT_REPO', hint: 'run it inside the repository, or use --all' });
    throw new WorkFailedError(`git failed: ${why}`, { code: 'GIT_FAILED', hint: 'check the repository with `git status`' });
  }
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The files changed between base and head (or the work tree), as absolute paths. */
export async function changedFiles(root: string, o: AffectedOptions): Promise<string[]> {
  const [top] = await gitLines(['rev-parse', '--show-toplevel'], root, o.env, 'the repository');
  let names: string[];
  if (o.head !== undefined) {
    names = await gitLines(['diff', '--name-only', '--no-renames', `${o.base}...${o.head}`, '--'], root, o.env, `${o.base}...${o.head}`);
  } else {
    const [mergeBase] = await gitLines(['merge-base', o.base, 'HEAD'], root, o.env, o.base);
    const changed = await gitLines(['diff', '--name-only', '--no-renames', mergeBase, '--'], root, o.env, o.base);
    const untracked = await gitLines(['ls-files', '--others', '--exclude-standard', '--full-name'], top, o.env, 'the untracked files');
    names = [...changed, ...untracked];
  }
  return [...new Set(names)].map((n) => path.join(top, n));
}

const inside = (dir: string, file: string) => {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

export interface AffectedMember {
  member: Member;
  /** Why: "changed files", "library <name>", "the workspace file". */
  reasons: string[];
}

/** The plugins the changed files affect, in workspace order, each with why. */
export async function affectedMembers(ws: Workspace, changed: string[]): Promise<AffectedMember[]> {
  const touchedLibs = ws.libraries.filter((l) => changed.some((f) => inside(l.dir, f)));
  const wsFileChanged = changed.includes(path.join(ws.spec.root, WORKSPACE_FILE));
  const out: AffectedMember[] = [];
  for (const m of ws.members) {
    const reasons: string[] = [];
    if (changed.some((f) => inside(m.dir, f))) reasons.push('changed files');
    for (const l of await importedLibraries(m, touchedLibs)) reasons.push(`library ${l.name}`);
    if (wsFileChanged) reasons.push(WORKSPACE_FILE);
    if (reasons.length > 0) out.push({ member: m, reasons });
  }
  return out;
}

/** The libraries of the list that the plugin's code or tests import. */
export async function importedLibraries(m: Member, libraries: readonly Library[]): Promise<Library[]> {
  if (libraries.length === 0) return [];
  const names = new Set(await projectImports(m.dir));
  return libraries.filter((l) => names.has(l.name));
}
