/**
 * What goes into the archive: the parts of a plugin (its manifest, code,
 * docs, changelog, licence, README), what `!pattern` lines of .pluginignore
 * opt in, and a module at the root that the code under src/ imports; minus
 * what the built-in rules and .pluginignore drop (classify.ts, pure), walked
 * here. Every other file is left out and listed (`leftOut`), for build to
 * name once. The walk never follows a symlink out of the project, never opens
 * FIFOs, sockets or devices, never packs the output folder or a file the
 * CLI is writing its own output into, and records for each path it saw the
 * rule that kept or dropped it (for `build --explain`).
 */
import { fileStamp, settledAt } from './source-record.js';
import fs from 'node:fs';
import path from 'node:path';
import { CliError, WorkFailedError } from '../../errors.js';
import { readRegularFileSync } from '../../io/read-file.js';
import { LEFT_OUT_RULE, OPT_IN_HINT, classify, markerRule, type ClassifyOptions } from './classify.js';
import { IGNORE_FILE, parseIgnoreFile, type IgnoreRules } from './ignore-file.js';
import { INTEGRITY_PATH, compareNames } from './integrity.js';
import { checkEntryName, showName, twinKey } from './names.js';
import type { PackFile } from './pack.js';
import { secretByName, type SecretFinding } from './secrets.js';

export { IGNORE_FILE, badPattern, parseIgnoreFile } from './ignore-file.js';

export type Action = 'kept' | 'dropped' | 'refused' | 'skipped';

export interface Decision {
  /** Relative path; folders end with "/". */
  path: string;
  action: Action;
  /** Why, e.g. "default: plugin code (src/)", "default: not part of a plugin", "built-in: __pycache__/ (Python cache)", ".pluginignore:3: *.log", "secret: env-file". */
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
  /** Files (a symlinked folder: "name/") not part of a plugin and not opted in: not packed, named once by build. */
  leftOut: string[];
}

/** A file by identity (device and inode), e.g. the CLI's own stdout. */
export interface FileIdentity {
  dev: number;
  ino: number;
  /** What it is, for --explain: "stdout", "stderr", "stdout (through tee)". */
  what: string;
}

export interface FileListOptions {
  includeTests?: boolean;
  /** Entry paths allowed although they look like secrets. */
  allowSecrets?: ReadonlySet<string>;
  /**
   * Absolute output folder (a link is followed). Never packed; when it is
   * inside the project it may hold only build output (archives, their
   * .sha256 and listings): a folder of the plugin's own files is refused.
   */
  outDir?: string;
  /** Files never packed nor read: the CLI's own stdout and stderr when they are files in the project. */
  exclude?: readonly FileIdentity[];
}

/** What a build writes into its output folder; anything else there belongs to the plugin. */
const BUILD_OUTPUT = /(\.zip|\.zip\.sha256|\.listing\.json|\.partial-\d+-[0-9a-f]+)$/;

/** The CLI's own output, by device and inode (bigint-safe as strings). */
const idKey = (dev: number, ino: number) => `${dev}:${ino}`;

export async function listProjectFiles(projectDir: string, opts: FileListOptions = {}): Promise<FileList> {
  const walker = new Walker(fs.realpathSync(projectDir), opts);
  walker.run();
  return walker.out;
}

function readIgnoreRules(root: string): IgnoreRules | undefined {
  try {
    return parseIgnoreFile(readRegularFileSync(path.join(root, IGNORE_FILE), { shown: IGNORE_FILE }).toString('utf8'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new WorkFailedError(`cannot read ${IGNORE_FILE} (${code ?? (err as Error).message})`, {
      code: 'UNREADABLE',
      hint: `check the permissions of ${IGNORE_FILE}`,
    });
  }
}

class Walker {
  readonly out: FileList = { files: [], decisions: [], secrets: [], problems: [], warnings: [], leftOut: [] };
  /** Left-out regular files, decided at the end: a module at the root that src/ imports is packed after all. */
  private readonly pending: { rel: string; abs: string; decision: Decision }[] = [];
  private readonly classifyOpts: ClassifyOptions;
  private readonly allow: ReadonlySet<string>;
  private readonly outDir?: string;
  private readonly exclude: Map<string, string>;
  /** When the walk began: a file changed since shortly before has no trusted stamp (source-record.ts). */
  private readonly listedAt = Date.now();

  constructor(
    private readonly root: string,
    opts: FileListOptions,
  ) {
    this.classifyOpts = { includeTests: opts.includeTests, ignore: readIgnoreRules(root) };
    this.allow = opts.allowSecrets ?? new Set<string>();
    this.outDir = opts.outDir ? safeRealpath(opts.outDir) : undefined;
    this.exclude = new Map((opts.exclude ?? []).map((x) => [idKey(x.dev, x.ino), x.what]));
  }

  run(): void {
    if (this.outDir === this.root) {
      this.problem('OUT_DIR_IS_PROJECT', '.', 'the output folder is the project folder itself: the archive would pack its own output');
    } else {
      this.walkDir(this.root, '');
    }
    this.settleLeftOut();
    this.findTwins();
    this.out.files.sort((a, b) => compareNames(a.path, b.path));
  }

  private decide(rel: string, action: Action, rule: string): void {
    this.record(rel, action, rule);
  }

  private record(rel: string, action: Action, rule: string): Decision {
    const d = { path: rel, action, rule };
    this.out.decisions.push(d);
    return d;
  }

  private problem(code: string, rel: string, message: string): void {
    this.out.problems.push({ code, path: rel, message });
  }

  private readDir(dirAbs: string, dirRel: string): fs.Dirent[] | undefined {
    try {
      return fs.readdirSync(dirAbs, { withFileTypes: true }).sort((a, b) => compareNames(a.name, b.name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      this.problem('UNREADABLE', dirRel || '.', `cannot read the folder ${dirRel || '.'} (${code})`);
      return undefined;
    }
  }

  /** `optedIn`: the .pluginignore line that opted in a folder above, which opts in what it holds. */
  private walkDir(dirAbs: string, dirRel: string, optedIn?: string): void {
    const entries = this.readDir(dirAbs, dirRel);
    if (!entries) return;
    const marker = dirRel !== '' ? markerRule(entries.map((e) => e.name)) : undefined;
    if (marker) return this.decide(`${dirRel}/`, 'dropped', marker);
    for (const e of entries) this.visit(e, dirAbs, dirRel, optedIn);
  }

  private visit(e: fs.Dirent, dirAbs: string, dirRel: string, optedIn?: string): void {
    const rel = dirRel ? `${dirRel}/${e.name}` : e.name;
    const abs = path.join(dirAbs, e.name);
    // A link to a folder is judged as a folder by name first (a linked dist/, node_modules/).
    const link = e.isSymbolicLink() ? resolveLink(abs) : undefined;
    const isDir = e.isDirectory() || Boolean(link?.st?.isDirectory());
    let verdict = classify({ rel, name: e.name, atRoot: dirRel === '', isDir }, this.classifyOpts);
    if (verdict.action === 'left-out' && optedIn) verdict = { action: 'kept', rule: optedIn };
    if (isDir && this.outDir && (link?.target ?? abs) === this.outDir) return this.outputFolder(abs, rel, verdict.action === 'dropped');
    if (verdict.action === 'dropped') return this.decide(isDir ? `${rel}/` : rel, 'dropped', verdict.rule);
    if (verdict.action === 'left-out') return this.leftOut(e, abs, rel, isDir, Boolean(link));
    if (link) return this.linked(rel, link, verdict.rule);
    // A folder a `!pattern` opted in opts in what it holds; a part of a plugin (src/, docs/) covers its own.
    if (isDir) return this.walkDir(abs, rel, verdict.rule.startsWith(IGNORE_FILE) ? verdict.rule : optedIn);
    if (!e.isFile()) {
      this.out.warnings.push(`skipped ${rel}: not a regular file (FIFO, socket or device)`);
      return this.decide(rel, 'skipped', 'special file (FIFO, socket or device)');
    }
    const st = this.stat(abs, rel, fs.lstatSync);
    if (st) this.admit(rel, abs, st, verdict.rule);
  }

  /**
   * Not part of a plugin: a folder is walked (a `!pattern` may opt in a
   * file inside it); a file is left out, unless it turns out to be a module
   * the code imports (settleLeftOut). Never read, never refused.
   */
  private leftOut(e: fs.Dirent, abs: string, rel: string, isDir: boolean, isLink: boolean): void {
    if (isDir && !isLink) return this.walkDir(abs, rel);
    const decision = this.record(isDir ? `${rel}/` : rel, 'dropped', LEFT_OUT_RULE);
    if (e.isFile()) this.pending.push({ rel, abs, decision });
    else this.out.leftOut.push(decision.path);
  }

  /**
   * A module at the project root (`helpers.py`, or a package folder with an
   * `__init__.py`) that a file under src/ imports is code: packed. The
   * others are left out. Only read when such a candidate exists.
   */
  private settleLeftOut(): void {
    const top = (rel: string) => rel.split('/')[0];
    const packages = new Set(this.pending.filter((p) => /^[^/]+\/__init__\.py$/.test(p.rel)).map((p) => top(p.rel)));
    const moduleOf = (rel: string) => (packages.has(top(rel)) ? top(rel) : /^[A-Za-z_]\w*\.py$/.test(rel) ? rel.slice(0, -3) : undefined);
    const candidates = new Set(this.pending.map((p) => moduleOf(p.rel)).filter((m): m is string => m !== undefined));
    const imported = candidates.size > 0 ? importedNames(this.out.files.filter((f) => f.path.startsWith('src/') && f.path.endsWith('.py'))) : new Set<string>();
    for (const p of this.pending) {
      const m = moduleOf(p.rel);
      if (m !== undefined && imported.has(m)) {
        const st = this.stat(p.abs, p.rel, fs.lstatSync);
        if (st) this.admit(p.rel, p.abs, st, `default: code imported by src/ (import ${m})`, p.decision);
      } else {
        this.out.leftOut.push(p.rel);
      }
    }
  }

  /** A symlink that no rule dropped: a file inside the project is packed with the target's bytes. */
  private linked(rel: string, link: Link, rule: string): void {
    if (link.target === undefined) {
      const code = link.code ?? 'EIO';
      this.problem(
        'UNREADABLE',
        rel,
        code === 'ENOENT' ? `cannot read ${rel}: it is a symlink to a missing file` : `cannot read ${rel}: the symlink cannot be resolved (${code})`,
      );
      return this.decide(rel, 'refused', `symlink: cannot be resolved (${code})`);
    }
    if (!inside(this.root, link.target)) {
      this.problem('SYMLINK_OUTSIDE', rel, `${rel} is a symlink to ${link.target}, outside the project`);
      return this.decide(rel, 'refused', 'symlink: points outside the project');
    }
    if (!link.st) return this.problem('UNREADABLE', rel, `cannot read ${rel} (${link.code ?? 'EIO'})`);
    if (link.st.isDirectory()) {
      this.problem('SYMLINK_DIR', rel, `${rel} is a symlink to a folder; symlinked folders are not packed`);
      return this.decide(rel, 'refused', 'symlink to a folder');
    }
    if (!link.st.isFile()) {
      this.out.warnings.push(`skipped ${rel}: a symlink to a FIFO, socket or device`);
      return this.decide(rel, 'skipped', 'symlink to a special file');
    }
    const how = `symlink to ${toPosix(path.relative(this.root, link.target))} inside the project, stored as a regular file`;
    this.admit(rel, link.target, link.st, `${rule}; ${how}`);
  }

  /**
   * The output folder is never packed (it may be a link to a folder
   * elsewhere). When the rules would otherwise pack it, it may hold only
   * build output: a file of the plugin there (`--out src`) would be lost
   * from the archive, which is refused.
   */
  private outputFolder(abs: string, rel: string, droppedAnyway: boolean): void {
    this.decide(`${rel}/`, 'dropped', 'built-in: the output folder');
    if (droppedAnyway || !inside(this.root, this.outDir!)) return;
    const probe = new Walker(this.root, { includeTests: this.classifyOpts.includeTests });
    probe.walkDir(abs, rel);
    const theirs = probe.out.files.filter((f) => !BUILD_OUTPUT.test(f.path));
    if (theirs.length === 0) return;
    const shown = theirs
      .slice(0, 3)
      .map((f) => showName(f.path))
      .join(', ');
    this.problem(
      'OUT_DIR_INSIDE',
      `${rel}/`,
      `the output folder ${rel}/ holds files the archive would otherwise pack (${shown}${theirs.length > 3 ? ', …' : ''})`,
    );
  }

  private stat(abs: string, rel: string, how: (p: string) => fs.Stats): fs.Stats | undefined {
    try {
      return how(abs);
    } catch (err) {
      this.problem('UNREADABLE', rel, `cannot read ${rel} (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`);
      return undefined;
    }
  }

  /** A regular file no rule dropped: refused for its name or as a secret, else packed. `into`: its decision, already listed. */
  private admit(rel: string, abs: string, st: fs.Stats, rule: string, into?: Decision): void {
    const decide = (action: Action, why: string) => void (into ? Object.assign(into, { action, rule: why }) : this.decide(rel, action, why));
    const own = this.exclude.get(idKey(st.dev, st.ino));
    if (own) return decide('dropped', `built-in: the CLI's own output (${own})`);
    const name = rel.normalize('NFC');
    const problem = checkEntryName(name);
    if (problem) {
      this.problem(problem.code, rel, `${showName(rel)}: the file name ${problem.message}`);
      return decide('refused', `unsafe name: ${problem.message}`);
    }
    if (name === INTEGRITY_PATH) {
      this.problem('RESERVED_NAME', rel, `${rel} is reserved for the generated integrity listing`);
      return decide('refused', 'reserved name');
    }
    const secret = secretByName(name);
    if (secret && !this.allow.has(name)) {
      this.out.secrets.push(secret);
      return decide('refused', `secret: ${secret.rule}`);
    }
    decide('kept', secret ? `${rule}; secret allowed by --allow-secret` : rule);
    const stamp = settledAt(st, this.listedAt) ? { stamp: fileStamp(st) } : {};
    this.out.files.push({ path: name, abs, size: st.size, mode: st.mode & 0o100 ? 0o755 : 0o644, ...stamp });
  }

  /** Names (or folder names) equal after NFC + lower-casing, and two spellings NFC folds into one. */
  private findTwins(): void {
    const seen = new Map<string, string>();
    const note = (name: string) => {
      const key = twinKey(name);
      const prev = seen.get(key);
      if (prev === undefined) seen.set(key, name);
      else if (prev !== name) {
        this.problem('NAME_TWIN', name, `${showName(prev)} and ${showName(name)} differ only in case or Unicode normalization (same case-insensitive path)`);
      }
    };
    const dirs = new Set<string>();
    for (const f of this.out.files) {
      const parts = f.path.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
    }
    for (const d of [...dirs].sort()) note(d);
    for (const f of this.out.files) note(f.path);
    const exact = new Set<string>();
    for (const f of this.out.files) {
      if (exact.has(f.path)) this.problem('NAME_TWIN', f.path, `two files are both named ${showName(f.path)} after Unicode normalization`);
      exact.add(f.path);
    }
  }
}

/**
 * The top-level names the Python files import (`import a.b, c as d`,
 * `from a.b import x`; relative imports are the package's own). Read as
 * text, line by line: a module at the root is packed when any file names it.
 */
function importedNames(files: readonly PackFile[]): Set<string> {
  const names = new Set<string>();
  for (const f of files) {
    let text: string;
    try {
      text = readRegularFileSync(f.abs, { shown: f.path }).toString('utf8');
    } catch {
      continue; // packing reports an unreadable file
    }
    for (const m of text.matchAll(/^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)[\w.]*[ \t]+import\b|import[ \t]+([^#\n;]+))/gm)) {
      if (m[1]) names.add(m[1]);
      else
        for (const part of m[2].replace(/[()\\]/g, ' ').split(',')) {
          const name = /^\s*([A-Za-z_]\w*)/.exec(part)?.[1];
          if (name) names.add(name);
        }
    }
  }
  return names;
}

/** One line naming what was left out ("left out 3 files not part of a plugin: …"), or undefined. */
export function leftOutLine(list: Pick<FileList, 'leftOut' | 'files'>, max = 5): string | undefined {
  if (list.leftOut.length === 0) return undefined;
  // A top-level folder none of whose files is packed is named once, as `folder/`.
  const packedTop = new Set(list.files.map((f) => f.path.split('/')[0]));
  const shown: string[] = [];
  for (const p of list.leftOut) {
    const parts = p.split('/');
    const item = parts.length > 1 && !packedTop.has(parts[0]) ? `${parts[0]}/` : p;
    if (!shown.includes(item)) shown.push(item);
  }
  const n = list.leftOut.length;
  const names = shown.slice(0, max).map(showName).join(', ') + (shown.length > max ? `, … (${shown.length - max} more)` : '');
  return `left out ${n} file${n === 1 ? '' : 's'} not part of a plugin: ${names} (${OPT_IN_HINT}; build --dry-run --explain shows every rule)`;
}

/** A symlink: its real target and the target's stats, or the error code that stopped either. */
interface Link {
  target?: string;
  st?: fs.Stats;
  code?: string;
}

function resolveLink(abs: string): Link {
  let target: string;
  try {
    target = fs.realpathSync(abs);
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
  try {
    return { target, st: fs.statSync(target) };
  } catch (err) {
    return { target, code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
}

function toPosix(rel: string): string {
  return path.sep === '/' ? rel : rel.split(path.sep).join('/');
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
