/**
 * The members of a workspace: its plugin folders (the globs of
 * plexichat-workspace.yaml expanded, each a folder holding
 * config/plugin.yaml) and its shared libraries (each a Python package: a
 * folder holding __init__.py, imported by its folder's name). Globs take `*`
 * and `?` within a path segment; the expansion is sorted, so every run
 * lists the plugins in one order.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { MANIFEST_PATH } from '../core/manifest/types.js';
import { readYaml } from '../core/yaml/read.js';
import { WORKSPACE_FILE, readWorkspace, type WorkspaceSpec } from './file.js';

export interface Member {
  /** The plugin's name (plugin.name of its manifest, else its folder's name). */
  name: string;
  /** Absolute folder. */
  dir: string;
  /** The folder relative to the workspace root, with "/". */
  rel: string;
}

export interface Library {
  /** The import name: the package folder's name. */
  name: string;
  dir: string;
  rel: string;
}

export interface Workspace {
  spec: WorkspaceSpec;
  members: Member[];
  libraries: Library[];
}

const isGlob = (seg: string) => /[*?]/.test(seg);

function segmentRegex(seg: string): RegExp {
  const body = seg
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

async function isDir(p: string): Promise<boolean> {
  return (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** The folders a pattern names under root (relative, "/"), sorted. */
export async function expandPattern(root: string, pattern: string): Promise<string[]> {
  const segs = pattern.split('/').filter((s) => s !== '' && s !== '.');
  if (path.isAbsolute(pattern) || segs.includes('..') || segs.includes('**')) {
    throw new UsageError(
      `${WORKSPACE_FILE}: ${JSON.stringify(pattern)} must be a folder inside the workspace, with * or ? in a segment (** is not supported)`,
      {
        code: 'WORKSPACE_INVALID',
        hint: 'e.g. plugins/*',
      },
    );
  }
  let found = [''];
  for (const seg of segs) {
    const next: string[] = [];
    for (const base of found) {
      if (!isGlob(seg)) {
        const rel = base ? `${base}/${seg}` : seg;
        if (await isDir(path.join(root, rel))) next.push(rel);
        continue;
      }
      const re = segmentRegex(seg);
      const names = await fs.readdir(path.join(root, base), { withFileTypes: true }).catch(() => []);
      for (const e of names) {
        const rel = base ? `${base}/${e.name}` : e.name;
        if (!e.name.startsWith('.') && re.test(e.name) && (await isDir(path.join(root, rel)))) next.push(rel);
      }
    }
    found = next;
  }
  return found.filter((r) => r !== '').sort();
}

async function manifestName(dir: string): Promise<string | undefined> {
  const text = await fs.readFile(path.join(dir, MANIFEST_PATH), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const read = readYaml(text, MANIFEST_PATH, { prefix: 'MANIFEST', name: MANIFEST_PATH });
  if (!read.ok || read.empty) return undefined;
  const name = (read.data as { plugin?: { name?: unknown } } | null)?.plugin?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

const hasFile = async (p: string) => (await fs.stat(p).catch(() => undefined))?.isFile() ?? false;

async function expandAll(root: string, patterns: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of patterns) for (const rel of await expandPattern(root, p)) out.add(rel);
  return [...out].sort();
}

/** The plugin folders: every expanded folder that holds config/plugin.yaml. */
export async function findMembers(spec: WorkspaceSpec): Promise<Member[]> {
  const members: Member[] = [];
  for (const rel of await expandAll(spec.root, spec.plugins)) {
    const dir = path.join(spec.root, rel);
    if (!(await hasFile(path.join(dir, MANIFEST_PATH)))) continue;
    members.push({ name: (await manifestName(dir)) ?? path.basename(dir), dir, rel });
  }
  const seen = new Map<string, string>();
  for (const m of members) {
    const twin = seen.get(m.name);
    if (twin) {
      throw new UsageError(`two plugins of the workspace are named ${m.name} (${twin} and ${m.rel})`, {
        code: 'WORKSPACE_INVALID',
        hint: 'give each plugin its own plugin.name',
      });
    }
    seen.set(m.name, m.rel);
  }
  return members;
}

/** The shared libraries: every expanded folder, each a Python package. */
export async function findLibraries(spec: WorkspaceSpec): Promise<Library[]> {
  const out: Library[] = [];
  for (const rel of await expandAll(spec.root, spec.libraries)) {
    const dir = path.join(spec.root, rel);
    if (!(await hasFile(path.join(dir, '__init__.py')))) {
      throw new UsageError(`${WORKSPACE_FILE}: the library ${rel} is not a Python package (no __init__.py)`, {
        code: 'WORKSPACE_INVALID',
        hint: `add ${rel}/__init__.py, or list the package folder itself`,
      });
    }
    out.push({ name: path.basename(dir), dir, rel });
  }
  return out;
}

/** The workspace at root: its file read and checked, its plugins and libraries found. */
export async function loadWorkspace(root: string): Promise<Workspace> {
  const spec = await readWorkspace(root);
  const [members, libraries] = await Promise.all([findMembers(spec), findLibraries(spec)]);
  return { spec, members, libraries };
}

/** The folders that put the libraries on a Python path: each library's parent, once. */
export function libraryPaths(libraries: readonly Library[]): string[] {
  return [...new Set(libraries.map((l) => path.dirname(l.dir)))];
}
