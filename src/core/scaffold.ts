/**
 * Project scaffolding from templates/<name>/. Pure file work, no CLI or
 * process dependencies: the caller validates input and renders output.
 *
 * A project is never left half-made: files are rendered into a temp sibling
 * of the target first. A new target is then renamed into place in one step;
 * into an existing (empty, or --force) directory the files are moved one by
 * one, and any failure moves everything back: new files removed, replaced
 * files restored, created folders removed, the temp dir deleted.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markCannotHold } from '../io/fs-errors.js';
import { makeDir } from '../io/make-dir.js';
import { readRegularText } from '../io/read-file.js';
import { CATEGORIES } from './catalog.js';

export const INITIAL_VERSION = '0.1.0';

/** Template files whose names npm would drop or mangle; renamed on copy. */
const RENAMES: Record<string, string> = {
  _gitignore: '.gitignore',
  _pluginignore: '.pluginignore',
  _editorconfig: '.editorconfig',
};
/** Per-template metadata, not copied. */
const TEMPLATE_META = 'template.json';

export interface TemplateInfo {
  name: string;
  description: string;
  dir: string;
  order: number;
}

export function defaultTemplatesRoot(): string {
  return fileURLToPath(new URL('../../templates/', import.meta.url));
}

export async function listTemplates(root = defaultTemplatesRoot()): Promise<TemplateInfo[]> {
  const out: TemplateInfo[] = [];
  for (const e of await fs.readdir(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const dir = path.join(root, e.name);
    let meta: { description?: string; order?: number } = {};
    try {
      meta = JSON.parse(await readRegularText(path.join(dir, TEMPLATE_META), { maxBytes: 64 * 1024 })) as typeof meta;
    } catch {
      // a template without metadata is still a template
    }
    out.push({ name: e.name, dir, description: meta.description ?? '', order: meta.order ?? 100 });
  }
  return out.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

export function isCategory(c: string): boolean {
  return (CATEGORIES as readonly string[]).includes(c);
}

/** advanced_analytics -> AdvancedAnalyticsPlugin */
export function className(name: string): string {
  const base = name
    .split('_')
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
  return base.endsWith('Plugin') ? base : `${base}Plugin`;
}

/** advanced_analytics -> Advanced Analytics */
export function titleOf(name: string): string {
  return name
    .split('_')
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ');
}

export interface ScaffoldVars {
  name: string;
  category: string;
  description: string;
  author: string;
  license: string;
  version: string;
  /** YYYY-MM-DD, for the CHANGELOG. */
  date: string;
  template: string;
}

/**
 * Substitute {{key}} (raw) and {{key|quote}} (a double-quoted string, valid
 * in YAML and Python). An unknown key is a template bug and throws.
 */
export function renderText(text: string, vars: ScaffoldVars, file = '<template>'): string {
  const values: Record<string, string> = {
    ...vars,
    class_name: className(vars.name),
    title: titleOf(vars.name),
  };
  return text.replace(/\{\{\s*([a-z_]+)\s*(?:\|\s*([a-z]+)\s*)?\}\}/g, (m, key: string, filter?: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`template ${file}: unknown placeholder ${m}`);
    if (filter === undefined) return v;
    if (filter === 'quote') return JSON.stringify(v);
    throw new Error(`template ${file}: unknown filter in ${m}`);
  });
}

function outputName(rel: string): string {
  const parts = rel.split('/');
  const base = parts.pop()!;
  return [...parts, RENAMES[base] ?? base].join('/');
}

/** Template-relative source paths (forward slashes), sorted. */
async function templateFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else if (e.isFile() && r !== TEMPLATE_META) out.push(r);
    }
  }
  await walk(dir, '');
  return out.sort();
}

export interface TargetState {
  exists: boolean;
  isDirectory: boolean;
  /**
   * Entries that make the directory non-empty (relative paths). Empty
   * folders and a top-level .git do not count.
   */
  conflicts: string[];
}

export async function inspectTarget(target: string): Promise<TargetState> {
  let st;
  try {
    // The target itself may be a symlink to a folder; entries inside are not followed.
    st = await fs.stat(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, isDirectory: false, conflicts: [] };
    throw err;
  }
  if (!st.isDirectory()) return { exists: true, isDirectory: false, conflicts: [] };
  const conflicts: string[] = [];
  async function walk(d: string, rel: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === '.git') continue;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else conflicts.push(r);
    }
  }
  await walk(target, '');
  return { exists: true, isDirectory: true, conflicts: conflicts.sort() };
}

export interface ScaffoldOptions {
  templateDir: string;
  target: string;
  vars: ScaffoldVars;
  /** Replace files the template generates when they already exist. */
  force?: boolean;
  signal?: AbortSignal;
  /** The clock, for the backup folder's name (ms since the epoch). */
  now?: number;
}

export interface ScaffoldResult {
  /** Generated files, relative to the target, sorted. */
  files: string[];
  /** Files that existed and were replaced (only with force). */
  replaced: string[];
  /** Where the replaced files were kept, relative to the target (only when some were replaced). */
  backup?: string;
}

/** File operations, injectable so tests can make one fail. */
export interface ScaffoldFs {
  rename(from: string, to: string): Promise<void>;
}
const realFs: ScaffoldFs = { rename: (a, b) => fs.rename(a, b) };

/** Where `init --force` keeps the files it replaced, inside the target (never packed). */
export const BACKUP_DIR = '.plexichat-backup';

/**
 * Rename, or copy then remove when the two paths are on different file
 * systems (EXDEV: the target is a mount point, a Docker volume, a
 * devcontainer workspace).
 */
async function move(deps: ScaffoldFs, from: string, to: string): Promise<void> {
  try {
    await deps.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await fs.cp(from, to, { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true });
    await fs.rm(from, { recursive: true, force: true });
  }
}

export class ScaffoldConflictError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

export async function scaffold(opts: ScaffoldOptions, deps: ScaffoldFs = realFs): Promise<ScaffoldResult> {
  const target = path.resolve(opts.target);
  const parent = path.dirname(target);
  const checkAbort = () => opts.signal?.throwIfAborted();

  // Parents that did not exist are created, and removed again on failure.
  const firstCreatedParent = await makeDir(parent);
  let staging: string | undefined;
  const moved: string[] = [];
  const backups: Array<{ original: string; backup: string }> = [];
  const madeDirs: string[] = [];
  try {
    // Stage on the target's own file system: inside it when it exists (it may be a mount
    // point, so a sibling could be on another disk), else next to it.
    const targetExists = existsSync(target);
    const stageIn = targetExists ? target : parent;
    staging = await fs.mkdtemp(path.join(stageIn, targetExists ? '.plexichat-init-' : `.${path.basename(target)}.init-`)).catch((err: unknown) => {
      // The folder is there (made or checked above): ENOENT means it refuses new entries (/proc).
      throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? markCannotHold(err as object, stageIn) : err;
    });
    const stagedRoot = path.join(staging, 'files');
    const backupRoot = path.join(staging, 'replaced');

    // 1. Render every file into the staging dir.
    const files: string[] = [];
    for (const rel of await templateFiles(opts.templateDir)) {
      checkAbort();
      const out = outputName(rel);
      const text = await readRegularText(path.join(opts.templateDir, rel), { shown: rel });
      const dest = path.join(stagedRoot, out);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.writeFile(dest, renderText(text, opts.vars, rel));
      files.push(out);
    }
    files.sort();
    checkAbort();

    // 2a. A new target: one rename puts the whole project in place.
    if (!targetExists) {
      await fs.mkdir(stagedRoot, { recursive: true });
      await move(deps, stagedRoot, target);
      return { files, replaced: [] };
    }

    // 2b. An existing directory: move file by file, remembering how to undo.
    const replaced: string[] = [];
    for (const rel of files) {
      checkAbort();
      const dest = path.join(target, ...rel.split('/'));
      const segments = rel.split('/').slice(0, -1);
      for (let i = 1; i <= segments.length; i++) {
        const d = path.join(target, ...segments.slice(0, i));
        const st = await fs.lstat(d).catch(() => undefined);
        if (!st) {
          await fs.mkdir(d);
          madeDirs.push(d);
        } else if (!st.isDirectory()) {
          throw new ScaffoldConflictError(`cannot create folder ${segments.slice(0, i).join('/')}: a file of that name exists`, rel);
        }
      }
      const existing = await fs.lstat(dest).catch(() => undefined);
      if (existing) {
        if (existing.isDirectory()) {
          throw new ScaffoldConflictError(`cannot write ${rel}: a folder of that name exists`, rel);
        }
        if (!opts.force) throw new ScaffoldConflictError(`${rel} already exists`, rel);
        const backup = path.join(backupRoot, ...rel.split('/'));
        await fs.mkdir(path.dirname(backup), { recursive: true });
        await move(deps, dest, backup);
        backups.push({ original: dest, backup });
        replaced.push(rel);
      }
      await move(deps, path.join(stagedRoot, ...rel.split('/')), dest);
      moved.push(dest);
    }
    if (replaced.length === 0) return { files, replaced };
    // Keep what --force replaced: the staging dir is removed below, so move the backups out.
    const stamp = new Date(opts.now ?? Date.now()).toISOString().replace(/[:.]/g, '-');
    const kept = path.join(BACKUP_DIR, stamp);
    await fs.mkdir(path.join(target, BACKUP_DIR), { recursive: true });
    await move(deps, backupRoot, path.join(target, kept));
    backups.length = 0;
    return { files, replaced, backup: kept.split(path.sep).join('/') };
  } catch (err) {
    // Undo in reverse order; keep going if one step fails.
    for (const f of moved.reverse()) await fs.rm(f, { force: true }).catch(() => undefined);
    for (const b of backups.reverse()) await move(deps, b.backup, b.original).catch(() => undefined);
    for (const d of madeDirs.reverse()) await fs.rmdir(d).catch(() => undefined);
    if (firstCreatedParent) await fs.rm(firstCreatedParent, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  } finally {
    if (staging) await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
}
