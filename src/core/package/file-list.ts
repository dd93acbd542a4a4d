/**
 * What goes into the archive: every file under the project root except the
 * built-in excludes and what .pluginignore (gitignore syntax) drops. The
 * walk never follows a symlink out of the project, never opens FIFOs,
 * sockets or devices, and records for each path it saw the rule that kept
 * or dropped it (for `build --explain`).
 */
import fs from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { WorkFailedError } from '../../errors.js';
import { readRegularFileSync } from '../../io/read-file.js';
import { INTEGRITY_PATH, compareNames } from './integrity.js';
import { checkEntryName, showName, twinKey } from './names.js';
import type { PackFile } from './pack.js';
import { secretByName, type SecretFinding } from './secrets.js';

export const IGNORE_FILE = '.pluginignore';

export type Action = 'kept' | 'dropped' | 'refused' | 'skipped';

export interface Decision {
  /** Relative path; folders end with "/". */
  path: string;
  action: Action;
  /** Why, e.g. "default", "built-in: __pycache__/", ".pluginignore:3: *.log", "secret: env-file". */
  rule: string;
}

export interface FileListProblem {
  code: string;
  path: string;
  message: string;
}

export interface FileList {
  files: PackFile[];
  decisions: Decision[];
  /** Name-based secrets (not yet allowed). Content is scanned while packing. */
  secrets: SecretFinding[];
  problems: FileListProblem[];
  warnings: string[];
}

export interface FileListOptions {
  includeTests?: boolean;
  /** Entry paths allowed although they look like secrets. */
  allowSecrets?: ReadonlySet<string>;
  /** Absolute output folder; never packed when it is inside the project. */
  outDir?: string;
}

/** Folders dropped wherever they are. */
const BUILTIN_DIRS = new Map<string, string>([
  ['.git', 'version control'],
  ['.hg', 'version control'],
  ['.svn', 'version control'],
  ['__pycache__', 'Python cache'],
  ['.pytest_cache', 'test cache'],
  ['.mypy_cache', 'type-checker cache'],
  ['.ruff_cache', 'linter cache'],
  ['.tox', 'test environments'],
  ['.nox', 'test environments'],
  ['.venv', 'virtualenv'],
  ['venv', 'virtualenv'],
  ['node_modules', 'Node packages'],
  ['.idea', 'editor settings'],
  ['.vscode', 'editor settings'],
  ['htmlcov', 'coverage report'],
  ['.eggs', 'build output'],
  ['.plexichat-marketplace', 'marketplace serve data'],
]);

/** Folders dropped at the project root only. */
const BUILTIN_ROOT_DIRS = new Map<string, string>([
  ['dist', 'build output'],
  ['build', 'build output'],
  ['.plexichat-backup', 'files init --force replaced'],
  ['.plexichat', 'deploy render: the SDK for the image'],
  ['k8s', 'deploy render: Kubernetes manifests'],
  ['helm', 'deploy render: Helm chart'],
]);

/** Files dropped wherever they are: [pattern, reason]. */
const BUILTIN_FILES: [RegExp, string, string][] = [
  [/\.py[co]$/, '*.pyc', 'Python bytecode'],
  [/^\.DS_Store$/, '.DS_Store', 'macOS metadata'],
  [/^(Thumbs\.db|desktop\.ini)$/i, 'Thumbs.db', 'Windows metadata'],
  [/\.(swp|swo)$/, '*.swp', 'editor swap file'],
  [/~$/, '*~', 'editor backup'],
  [/^\.#/, '.#*', 'editor lock file'],
  [/^#.*#$/, '#*#', 'editor autosave'],
  [/^\.coverage(\..*)?$/, '.coverage', 'coverage data'],
  [/\.partial-\d+-[0-9a-f]+$/, '*.partial-*', 'unfinished archive'],
];

/** Files dropped at the project root only. */
const BUILTIN_ROOT_FILES = new Map<string, string>([
  [IGNORE_FILE, 'build configuration'],
  ['.gitignore', 'version control'],
  ['.gitattributes', 'version control'],
  ['.gitmodules', 'version control'],
  ['.editorconfig', 'editor settings'],
  ['.plexichat.yaml', 'check configuration'],
  ['Dockerfile', 'deploy render: container image'],
  ['.dockerignore', 'deploy render: container image'],
]);

interface IgnoreRules {
  matcher: Ignore;
}

/** Parse .pluginignore; a pattern that can never work is an error naming its line. */
export function parseIgnoreFile(text: string, file = IGNORE_FILE): IgnoreRules {
  const matcher = ignore();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) return;
    const problem = badPattern(line);
    if (problem) {
      throw new WorkFailedError(`${file}:${i + 1}: bad pattern ${JSON.stringify(raw)}: ${problem}`, {
        code: 'BAD_IGNORE_PATTERN',
        hint: `fix or remove line ${i + 1} of ${file} (gitignore syntax: https://git-scm.com/docs/gitignore)`,
      });
    }
    matcher.add({ pattern: line, mark: String(i + 1) });
  });
  return { matcher };
}

/** Why a gitignore pattern is broken, or undefined. */
export function badPattern(line: string): string | undefined {
  const body = line.startsWith('!') ? line.slice(1) : line;
  if (body === '' || body === '/') return 'the pattern is empty';
  if (/(^|[^\\])(\\\\)*\\$/.test(body)) return 'it ends with a lone backslash';
  if (/(^|\/)\.\.(\/|$)/.test(body)) return 'patterns are relative to the project; ".." never matches';
  if (/^[A-Za-z]:[\\/]/.test(body)) return 'patterns are relative to the project, not absolute paths';
  // Bracket expressions must close, and ranges must ascend.
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\') {
      i += 1;
      continue;
    }
    if (ch !== '[') continue;
    let j = i + 1;
    if (body[j] === '!' || body[j] === '^') j += 1;
    if (body[j] === ']') j += 1;
    let closed = false;
    for (; j < body.length; j++) {
      if (body[j] === '\\') {
        j += 1;
        continue;
      }
      if (body[j] === '[' && body[j + 1] === ':') {
        const end = body.indexOf(':]', j + 2);
        if (end !== -1) {
          j = end + 1;
          continue;
        }
      }
      if (body[j] === ']') {
        closed = true;
        break;
      }
      if (body[j] === '-' && j + 1 < body.length && body[j + 1] !== ']' && j - 1 > i) {
        const lo = body[j - 1]!;
        const hi = body[j + 1]!;
        if (lo > hi) return `the range "${lo}-${hi}" is reversed`;
      }
    }
    if (!closed) return 'a "[" is never closed';
    i = j;
  }
  return undefined;
}

function toPosix(rel: string): string {
  return path.sep === '/' ? rel : rel.split(path.sep).join('/');
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

export async function listProjectFiles(projectDir: string, opts: FileListOptions = {}): Promise<FileList> {
  const root = fs.realpathSync(projectDir);
  const allow = opts.allowSecrets ?? new Set<string>();
  const out: FileList = { files: [], decisions: [], secrets: [], problems: [], warnings: [] };
  const outDir = opts.outDir ? safeRealpath(opts.outDir) : undefined;

  let rules: IgnoreRules | undefined;
  try {
    rules = parseIgnoreFile(readRegularFileSync(path.join(root, IGNORE_FILE), { shown: IGNORE_FILE }).toString('utf8'));
  } catch (err) {
    if (err instanceof WorkFailedError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw new WorkFailedError(`cannot read ${IGNORE_FILE} (${code ?? (err as Error).message})`, {
        code: 'UNREADABLE',
        hint: `check the permissions of ${IGNORE_FILE}`,
      });
    }
  }

  const decide = (rel: string, action: Action, rule: string) => out.decisions.push({ path: rel, action, rule });
  const builtin = (rel: string, name: string, isDir: boolean, atRoot: boolean): string | undefined => {
    if (isDir) {
      const why = BUILTIN_DIRS.get(name) ?? (atRoot ? BUILTIN_ROOT_DIRS.get(name) : undefined);
      if (why) return `built-in: ${name}/ (${why})`;
      if (name.endsWith('.egg-info')) return 'built-in: *.egg-info/ (build output)';
      if (atRoot && name === 'tests' && !opts.includeTests) return 'built-in: tests/ (pass --include-tests to pack them)';
      return undefined;
    }
    if (atRoot && name === 'conftest.py' && !opts.includeTests) return 'built-in: conftest.py (test configuration; pass --include-tests to pack it)';
    if (atRoot) {
      const why = BUILTIN_ROOT_FILES.get(name);
      if (why) return `built-in: ${name} (${why})`;
    }
    for (const [re, label, why] of BUILTIN_FILES) if (re.test(name)) return `built-in: ${label} (${why})`;
    return undefined;
  };
  const ignored = (rel: string): string | undefined => {
    if (!rules) return undefined;
    const r = rules.matcher.test(rel);
    return r.ignored ? `${IGNORE_FILE}:${r.rule?.mark ?? '?'}: ${r.rule?.pattern ?? ''}` : undefined;
  };

  const addFile = (rel: string, abs: string, st: fs.Stats, rule: string) => {
    const name = rel.normalize('NFC');
    const problem = checkEntryName(name);
    if (problem) {
      out.problems.push({ code: problem.code, path: rel, message: `${showName(rel)}: the file name ${problem.message}` });
      decide(rel, 'refused', `unsafe name: ${problem.message}`);
      return;
    }
    if (name === INTEGRITY_PATH) {
      out.problems.push({
        code: 'RESERVED_NAME',
        path: rel,
        message: `${rel} is reserved for the generated integrity listing`,
      });
      decide(rel, 'refused', 'reserved name');
      return;
    }
    const secret = secretByName(name);
    if (secret && !allow.has(name)) {
      out.secrets.push(secret);
      decide(rel, 'refused', `secret: ${secret.rule}`);
      return;
    }
    decide(rel, 'kept', secret ? `${rule}; secret allowed by --allow-secret` : rule);
    out.files.push({ path: name, abs, size: st.size, mode: st.mode & 0o100 ? 0o755 : 0o644 });
  };

  const walk = (dirAbs: string, dirRel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dirAbs, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      out.problems.push({ code: 'UNREADABLE', path: dirRel || '.', message: `cannot read the folder ${dirRel || '.'} (${code})` });
      return;
    }
    if (dirRel !== '' && entries.some((e) => e.name === 'pyvenv.cfg')) {
      decide(`${dirRel}/`, 'dropped', 'built-in: virtualenv (has pyvenv.cfg)');
      return;
    }
    entries.sort((a, b) => compareNames(a.name, b.name));
    const atRoot = dirRel === '';
    for (const e of entries) {
      const rel = dirRel ? `${dirRel}/${e.name}` : e.name;
      const abs = path.join(dirAbs, e.name);
      if (outDir && abs === outDir) {
        decide(`${rel}/`, 'dropped', 'built-in: the output folder');
        continue;
      }
      if (e.isDirectory()) {
        const b = builtin(rel, e.name, true, atRoot);
        if (b) {
          decide(`${rel}/`, 'dropped', b);
          continue;
        }
        const ig = ignored(`${rel}/`);
        if (ig) {
          decide(`${rel}/`, 'dropped', ig);
          continue;
        }
        walk(abs, rel);
        continue;
      }
      const b = builtin(rel, e.name, false, atRoot);
      if (b) {
        decide(rel, 'dropped', b);
        continue;
      }
      const ig = ignored(rel);
      if (ig) {
        decide(rel, 'dropped', ig);
        continue;
      }
      if (e.isSymbolicLink()) {
        let target: string;
        try {
          target = fs.realpathSync(abs);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
          out.problems.push({
            code: 'UNREADABLE',
            path: rel,
            message:
              code === 'ENOENT'
                ? `cannot read ${rel}: it is a symlink to a missing file`
                : `cannot read ${rel}: the symlink cannot be resolved (${code})`,
          });
          decide(rel, 'refused', `symlink: cannot be resolved (${code})`);
          continue;
        }
        if (!inside(root, target)) {
          out.problems.push({
            code: 'SYMLINK_OUTSIDE',
            path: rel,
            message: `${rel} is a symlink to ${target}, outside the project`,
          });
          decide(rel, 'refused', 'symlink: points outside the project');
          continue;
        }
        let st: fs.Stats;
        try {
          st = fs.statSync(target);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
          out.problems.push({ code: 'UNREADABLE', path: rel, message: `cannot read ${rel} (${code})` });
          continue;
        }
        if (st.isDirectory()) {
          out.problems.push({
            code: 'SYMLINK_DIR',
            path: rel,
            message: `${rel} is a symlink to a folder; symlinked folders are not packed`,
          });
          decide(rel, 'refused', 'symlink to a folder');
          continue;
        }
        if (!st.isFile()) {
          out.warnings.push(`skipped ${rel}: a symlink to a FIFO, socket or device`);
          decide(rel, 'skipped', 'symlink to a special file');
          continue;
        }
        addFile(rel, target, st, `symlink to ${toPosix(path.relative(root, target))} inside the project, stored as a regular file`);
        continue;
      }
      if (!e.isFile()) {
        out.warnings.push(`skipped ${rel}: not a regular file (FIFO, socket or device)`);
        decide(rel, 'skipped', 'special file (FIFO, socket or device)');
        continue;
      }
      let st: fs.Stats;
      try {
        st = fs.lstatSync(abs);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        out.problems.push({ code: 'UNREADABLE', path: rel, message: `cannot read ${rel} (${code})` });
        continue;
      }
      addFile(rel, abs, st, 'default: not excluded');
    }
  };
  walk(root, '');

  // Twins: names (or folder names) equal after NFC + lower-casing.
  const seen = new Map<string, string>();
  const note = (name: string) => {
    const key = twinKey(name);
    const prev = seen.get(key);
    if (prev === undefined) seen.set(key, name);
    else if (prev !== name) {
      out.problems.push({
        code: 'NAME_TWIN',
        path: name,
        message: `${showName(prev)} and ${showName(name)} differ only in case or Unicode normalization (same case-insensitive path)`,
      });
    }
  };
  const dirs = new Set<string>();
  for (const f of out.files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  for (const d of [...dirs].sort()) note(d);
  for (const f of out.files) note(f.path);
  // Two spellings of one name that NFC folds into the same entry.
  const exact = new Set<string>();
  for (const f of out.files) {
    if (exact.has(f.path)) {
      out.problems.push({ code: 'NAME_TWIN', path: f.path, message: `two files are both named ${showName(f.path)} after Unicode normalization` });
    }
    exact.add(f.path);
  }
  out.files.sort((a, b) => compareNames(a.path, b.path));
  return out;
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
