/**
 * Which project paths go into the archive, decided by name alone: the
 * built-in excludes (one table, BUILTIN_RULES), then .pluginignore, then
 * what a plugin is made of (PLUGIN_PARTS): a file that is none of these
 * is left out unless a `!pattern` line of .pluginignore opts it in.
 * `classify` is pure; the walker in file-list.ts supplies the facts it
 * needs about each entry and handles what names cannot tell (symlinks,
 * special files, the output folder, the CLI's own output, a module at the
 * root that the code imports).
 *
 * "Where is the rule for .hypothesis/?" grep this file for `.hypothesis`.
 */
import { IGNORE_FILE, ignoreVerdict, type IgnoreRules } from './ignore-file.js';

/** What the walker knows about one directory entry. */
export interface EntryFacts {
  /** Relative path with "/", no trailing slash. */
  rel: string;
  /** The last segment. */
  name: string;
  atRoot: boolean;
  /** A folder, or a symlink to one. */
  isDir: boolean;
}

export interface ClassifyOptions {
  includeTests?: boolean;
  ignore?: IgnoreRules;
}

/**
 * kept: packed (a folder: walked); dropped: never packed (a folder: not
 * walked); left-out: not part of a plugin and not opted in (a folder is
 * walked, since a `!pattern` may opt in a file inside it).
 */
export type Verdict = { action: 'dropped' | 'kept' | 'left-out'; rule: string };

interface BuiltinRule {
  kind: 'dir' | 'file';
  /** Only at the project root (dist/, tests/, .gitignore), or at any depth. */
  where: 'root' | 'any';
  /** How --explain names it: `built-in: <label> (<why>)`. */
  label: (name: string) => string;
  why: string;
  matches: (name: string, o: ClassifyOptions) => boolean;
}

const named =
  (...names: string[]) =>
  (n: string) =>
    names.includes(n);
const dirRule = (where: BuiltinRule['where'], why: string, ...names: string[]): BuiltinRule => ({
  kind: 'dir',
  where,
  label: (n) => `${n}/`,
  why,
  matches: named(...names),
});
const fileRule = (where: BuiltinRule['where'], why: string, label: string, re: RegExp): BuiltinRule => ({
  kind: 'file',
  where,
  label: (n) => (where === 'root' ? n : label),
  why,
  matches: (n) => re.test(n),
});

/**
 * The built-in excludes, in the order they are tried. They cannot be
 * re-included with `!` in .pluginignore (tests/ has --include-tests).
 */
export const BUILTIN_RULES: readonly BuiltinRule[] = [
  // Folders, at any depth.
  dirRule('any', 'version control', '.git', '.hg', '.svn'),
  dirRule('any', 'Python cache', '__pycache__'),
  dirRule('any', 'test cache', '.pytest_cache', '.cache'),
  dirRule('any', 'type-checker cache', '.mypy_cache', '.pytype', '.pyre'),
  dirRule('any', 'linter cache', '.ruff_cache'),
  dirRule('any', 'test environments', '.tox', '.nox'),
  dirRule('any', 'test data (Hypothesis)', '.hypothesis'),
  dirRule('any', 'benchmark results (pytest-benchmark)', '.benchmarks'),
  dirRule('any', 'notebook checkpoints', '.ipynb_checkpoints'),
  dirRule('any', 'virtualenv', '.venv', 'venv'),
  dirRule('any', 'Node packages', 'node_modules'),
  dirRule('any', 'editor settings', '.idea', '.vscode'),
  dirRule('any', 'coverage report', 'htmlcov'),
  dirRule('any', 'build output', '.eggs'),
  dirRule('any', 'marketplace serve data', '.plexichat-marketplace'),
  { kind: 'dir', where: 'any', label: () => '*.egg-info/', why: 'build output', matches: (n) => n.endsWith('.egg-info') },
  // Folders at the project root.
  dirRule('root', 'build output', 'dist', 'build'),
  dirRule('root', 'files init --force replaced', '.plexichat-backup'),
  dirRule('root', 'deploy render: the SDK for the image', '.plexichat'),
  dirRule('root', 'deploy render: Kubernetes manifests', 'k8s'),
  dirRule('root', 'deploy render: Helm chart', 'helm'),
  {
    kind: 'dir',
    where: 'root',
    label: () => 'tests/',
    why: 'pass --include-tests to pack them',
    matches: (n, o) => n === 'tests' && !o.includeTests,
  },
  // Files at the project root.
  fileRule('root', 'build configuration', IGNORE_FILE, /^\.pluginignore$/),
  fileRule('root', 'version control', '.gitignore', /^\.git(ignore|attributes|modules)$/),
  fileRule('root', 'editor settings', '.editorconfig', /^\.editorconfig$/),
  fileRule('root', 'check configuration', '.plexichat.yaml', /^\.plexichat\.yaml$/),
  fileRule('root', 'deploy render: container image', 'Dockerfile', /^(Dockerfile|\.dockerignore)$/),
  {
    kind: 'file',
    where: 'root',
    label: () => 'conftest.py',
    why: 'test configuration; pass --include-tests to pack it',
    matches: (n, o) => n === 'conftest.py' && !o.includeTests,
  },
  // Files at any depth.
  fileRule('any', 'Python bytecode', '*.pyc', /\.py[co]$/),
  fileRule('any', 'macOS metadata', '.DS_Store', /^\.DS_Store$/),
  fileRule('any', 'Windows metadata', 'Thumbs.db', /^(Thumbs\.db|desktop\.ini)$/i),
  fileRule('any', 'editor swap file', '*.swp', /\.(swp|swo)$/),
  fileRule('any', 'editor backup', '*~', /~$/),
  fileRule('any', 'editor lock file', '.#*', /^\.#/),
  fileRule('any', 'editor autosave', '#*#', /^#.*#$/),
  fileRule('any', 'coverage data', '.coverage', /^\.coverage(\..*)?$/),
  fileRule('any', 'coverage report', 'coverage.xml', /^(coverage\.(xml|json|lcov)|nosetests\.xml|[^/]*\.py,cover)$/),
  fileRule('any', 'type-checker state', '.dmypy.json', /^\.?dmypy\.json$/),
  fileRule('any', 'pip leftovers', 'pip-log.txt', /^pip-(log|delete-this-directory)\.txt$/),
  fileRule('any', 'unfinished archive', '*.partial-*', /\.partial-\d+-[0-9a-f]+$/),
];

/**
 * Folders recognised by a file they hold, whatever their name: a virtualenv
 * (`python -m venv anyname`), the data folder of `marketplace serve --data-dir`.
 */
export const MARKER_DIRS: readonly { file: string; rule: string }[] = [
  { file: 'pyvenv.cfg', rule: 'built-in: virtualenv (has pyvenv.cfg)' },
  { file: 'marketplace.db', rule: 'built-in: marketplace serve data (has marketplace.db)' },
];

/** The built-in rule for an entry, as --explain names it, or undefined. */
export function builtinRule(e: EntryFacts, o: ClassifyOptions = {}): string | undefined {
  const kind = e.isDir ? 'dir' : 'file';
  for (const r of BUILTIN_RULES) {
    if (r.kind !== kind || (r.where === 'root' && !e.atRoot) || !r.matches(e.name, o)) continue;
    return `built-in: ${r.label(e.name)} (${r.why})`;
  }
  return undefined;
}

/** The rule of a path that is not part of a plugin (build names these once: "left out …"). */
export const LEFT_OUT_RULE = 'default: not part of a plugin';

/** How a file is opted in (the left-out line and docs/archive-format.md say the same). */
export const OPT_IN_HINT = `add a line \`!<path>\` to ${IGNORE_FILE} to pack one`;

interface PluginPart {
  /** What --explain says: `default: <what>`. */
  what: string;
  /** A path (relative, "/", folders without a trailing "/") this part covers. */
  matches: (rel: string, isDir: boolean, o: ClassifyOptions) => boolean;
}

const under = (dir: string) => (rel: string) => rel === dir || rel.startsWith(`${dir}/`);
const rootFile = (re: RegExp) => (rel: string, isDir: boolean) => !isDir && !rel.includes('/') && re.test(rel);

/**
 * What a plugin folder holds (the runbook's layout, docs/archive-format.md):
 * packed by default. Everything else is left out unless opted in. The
 * manifest has no key to declare more files (its format is the runbook's),
 * so opting in is done in .pluginignore with `!pattern` lines; a module at
 * the root that the code under src/ imports is packed too (file-list.ts).
 */
export const PLUGIN_PARTS: readonly PluginPart[] = [
  { what: 'the manifest (config/plugin.yaml)', matches: (rel) => rel === 'config/plugin.yaml' },
  { what: 'monitoring (config/monitoring.yaml)', matches: (rel) => rel === 'config/monitoring.yaml' },
  // config/ is walked for the two files above; its other files are judged one by one.
  { what: 'the config folder', matches: (rel, isDir) => isDir && rel === 'config' },
  { what: 'plugin code (src/)', matches: under('src') },
  { what: 'documentation (docs/)', matches: under('docs') },
  { what: 'tests (--include-tests)', matches: (rel, _d, o) => Boolean(o.includeTests) && (under('tests')(rel) || rel === 'conftest.py') },
  { what: 'README', matches: rootFile(/^README([.-][^/]*)?$/i) },
  { what: 'changelog', matches: rootFile(/^(CHANGELOG|CHANGES|HISTORY)([.-][^/]*)?$/i) },
  { what: 'licence', matches: rootFile(/^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)([.-][^/]*)?$/i) },
];

/** The part of a plugin a path belongs to, as --explain names it, or undefined. */
export function partRule(rel: string, isDir: boolean, o: ClassifyOptions = {}): string | undefined {
  const part = PLUGIN_PARTS.find((p) => p.matches(rel, isDir, o));
  return part ? `default: ${part.what}` : undefined;
}

/**
 * Pure: what the built-in rules, then .pluginignore, then the parts of a
 * plugin say about one entry. Folders end with "/" in the rule text's
 * sense (`.pluginignore` sees `rel/`).
 */
export function classify(e: EntryFacts, o: ClassifyOptions = {}): Verdict {
  const builtin = builtinRule(e, o);
  if (builtin) return { action: 'dropped', rule: builtin };
  const ignored = ignoreVerdict(o.ignore, e.isDir ? `${e.rel}/` : e.rel);
  if (ignored) return ignored;
  const part = partRule(e.rel, e.isDir, o);
  if (part) return { action: 'kept', rule: part };
  return { action: 'left-out', rule: LEFT_OUT_RULE };
}

/** The marker rule for a folder holding `names`, or undefined. */
export function markerRule(names: readonly string[]): string | undefined {
  return MARKER_DIRS.find((m) => names.includes(m.file))?.rule;
}
