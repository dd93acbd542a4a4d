/**
 * `validate`: the manifest rules plus the cross-checks between the
 * manifest and the code in src/.
 */
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
// The manifest modules (yaml, semver, the schema) are imported after the
// Python scan has been started, so their loading overlaps the scan.
import type { Diagnostic, Manifest, ParsedManifest } from '../core/manifest/index.js';
import type { Locator } from '../core/yaml/locator.js';
import { MANIFEST_PATH } from '../core/manifest/types.js';
import { crossCheck, listsOf, type Lists } from '../core/checks/code.js';
import { banditDiagnostic, banditMissing, banditSkipped, type FailOn, type Note } from '../core/checks/security.js';
import { scanProject, type ScanOutcome, type SourceFile } from '../python/scan.js';
import { MIN_PYTHON_TEXT } from '../python/version.js';
import type { ProjectSources } from './types.js';

export interface ValidationReport {
  ok: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  manifest?: Manifest;
  /** Findings that never fail validation (bandit's LOW ones under --security). */
  infos: Note[];
  /** 'skipped' when no Python interpreter was found (a warning says so). */
  codeChecks: 'ran' | 'skipped';
  /** With --security: what ran and what it found (the findings are among errors, warnings and infos). */
  security?: SecuritySummary;
}

export interface SecuritySummary {
  tool: 'bandit';
  /** The command that ran; absent when bandit was not found. */
  command?: string[];
  findings: number;
  failOn: FailOn;
}

export interface ValidateOptions {
  env: NodeJS.ProcessEnv;
  /** Interpreter for the code checks (default: discovery as in `test`). */
  python?: string;
  /** Treat warnings as errors. */
  strict?: boolean;
  /** The manifest when the caller is loading it anyway (build needs its name early). */
  manifest?: Promise<ParsedManifest>;
  /** Run bandit over the same files too; findings at or above failOn are errors. */
  security?: { failOn: FailOn };
  /** The project loaded once for this run (its manifest and file list are read from it). */
  project?: ProjectSources;
  /** Called once the Python scan has been started (or is known not to run), before the manifest is asked for. */
  onScanStarted?: () => void;
}

function byLocation(a: Pick<Diagnostic, 'file' | 'line' | 'column' | 'code'>, b: Pick<Diagnostic, 'file' | 'line' | 'column' | 'code'>): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code);
}

const SRC = { file: 'src', line: 0, column: 0 };

/**
 * The src/**\/*.py files the archive will hold (the build's own file list,
 * so what .pluginignore drops is not checked), and what made some unreadable.
 * A .pluginignore that cannot be used is the same error as under `build`.
 */
async function sourceFiles(dir: string, project?: ProjectSources): Promise<{ files: SourceFile[]; diagnostics: Diagnostic[] }> {
  const list = project ? await project.files() : await (await import('../core/package/file-list.js')).listProjectFiles(dir);
  const py = (p: string) => p.startsWith('src/') && p.endsWith('.py');
  const diagnostics: Diagnostic[] = list.problems
    .filter((p) => p.code === 'UNREADABLE' && py(p.path))
    .map((p) => ({
      severity: 'warning',
      code: 'UNREADABLE_SOURCE',
      message: p.message,
      hint: 'fix or remove the file (a dangling link?)',
      file: p.path,
      line: 0,
      column: 0,
    }));
  return { files: list.files.filter((f) => py(f.path)).map((f) => ({ rel: f.path, abs: f.abs })), diagnostics };
}

type Found = Diagnostic | Note;

/** bandit over the files the archive holds (validate --security). */
async function securityReview(dir: string, opts: ValidateOptions & { security: { failOn: FailOn } }, files: SourceFile[]) {
  const { runBandit } = await import('../python/bandit.js');
  const r = await runBandit(dir, { env: opts.env, python: opts.python, files });
  const { failOn } = opts.security;
  if (!r.ok) return { diagnostics: [banditMissing(r.tried)] as Found[], summary: { tool: 'bandit', findings: 0, failOn } satisfies SecuritySummary };
  const diagnostics: Found[] = [...r.findings.map((f) => banditDiagnostic(f, failOn)), ...r.skipped.map(banditSkipped)];
  return { diagnostics, summary: { tool: 'bandit', command: r.command, findings: r.findings.length, failOn } satisfies SecuritySummary };
}

/**
 * The security review on its own, over the same files (check's security
 * step): what `validate --security` adds to its diagnostics, and its summary.
 */
export async function reviewSecurity(
  dir: string,
  opts: Pick<ValidateOptions, 'env' | 'python' | 'project'> & { failOn: FailOn },
): Promise<{ diagnostics: Found[]; summary: SecuritySummary }> {
  const { files, diagnostics } = await sourceFiles(dir, opts.project);
  const review = await securityReview(dir, { ...opts, security: { failOn: opts.failOn } }, files);
  return { diagnostics: [...diagnostics, ...review.diagnostics], summary: review.summary };
}

/** The scan (and with --security the bandit review) of the files the archive holds, and the problems met listing them. */
async function startScan(dir: string, opts: ValidateOptions) {
  const listing = sourceFiles(dir, opts.project);
  // The scanner starts while the files are listed (it reads them when they are).
  const scanning: Promise<ScanOutcome> = scanProject(dir, { env: opts.env, python: opts.python, files: listing.then((l) => l.files) });
  scanning.catch(() => undefined); // awaited below
  const { files, diagnostics } = await listing;
  const security = opts.security ? securityReview(dir, { ...opts, security: opts.security }, files) : undefined;
  security?.catch(() => undefined); // awaited below
  const outcome = await scanning;
  return { outcome, diagnostics, security: await security };
}

function skipped(outcome: Extract<ScanOutcome, { ok: false }>): Diagnostic {
  return {
    severity: 'warning',
    code: 'CODE_CHECKS_SKIPPED',
    message:
      outcome.reason === 'not-found'
        ? 'no Python interpreter found: the code checks (hooks, endpoints, permissions used in src/) were skipped'
        : `no usable Python interpreter (${outcome.tried.join(', ')}${outcome.detail ? `: ${outcome.detail}` : ''}): the code checks were skipped`,
    hint: `install python3 (${MIN_PYTHON_TEXT} or newer), or set PLEXICHAT_PYTHON to an interpreter`,
    ...SRC,
  };
}

/** What the scan found, checked against the manifest's lists. */
function codeDiagnostics(lists: Lists, scan: Extract<ScanOutcome, { ok: true }>['result'], locator: Locator | undefined): Diagnostic[] {
  const all = crossCheck(lists, scan, locator);
  for (const e of scan.syntaxErrors) {
    const unreadable = e.kind === 'unreadable';
    all.push({
      severity: unreadable ? 'warning' : 'error',
      code: unreadable ? 'UNREADABLE_SOURCE' : 'PYTHON_SYNTAX',
      message: unreadable ? `cannot read ${e.file}: ${e.message}` : `Python syntax error: ${e.message}`,
      hint: unreadable ? 'fix or remove the file (a dangling link?)' : 'fix the code; the plugin cannot load',
      file: e.file,
      line: e.line,
      column: e.column,
    });
  }
  if (scan.classes.length === 0 && scan.syntaxErrors.length === 0) {
    all.push({
      severity: 'warning',
      code: 'NO_PLUGIN_CLASS',
      message: scan.files ? 'no class deriving from Plugin was found in src/' : 'src/ holds no Python files',
      hint: 'define `class MyPlugin(Plugin):` in src/plugin.py (from plexichat_plugin_sdk import Plugin)',
      ...SRC,
    });
  }
  return all;
}

export async function validateProject(dir: string, opts: ValidateOptions): Promise<ValidationReport> {
  const hasSrc = await isDir(path.join(dir, 'src'));
  // Start the one Python process first; it runs while the manifest is read.
  let scanning: ReturnType<typeof startScan> | undefined;
  if (hasSrc && (await exists(path.join(dir, MANIFEST_PATH)))) {
    scanning = startScan(dir, opts);
    scanning.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  }
  opts.onScanStarted?.();
  const parsed = opts.manifest ?? opts.project?.manifest() ?? import('../core/manifest/index.js').then(({ loadManifest }) => loadManifest(dir));
  const { manifest, diagnostics, data, locator } = await parsed;
  const all: Found[] = [...diagnostics];
  let security: SecuritySummary | undefined;
  let codeChecks: ValidationReport['codeChecks'] = 'skipped';

  // The code checks need the lists even when other manifest rules failed.
  const lists = manifest ?? (data ? listsOf(data) : undefined);
  if (!hasSrc) {
    all.push({
      severity: 'error',
      code: 'MISSING_SOURCE',
      message: 'the plugin has no src/ directory',
      hint: 'put the plugin code in src/plugin.py (see `plexichat-plugin init`)',
      ...SRC,
    });
  }
  if (lists && scanning) {
    const { outcome, diagnostics: fileProblems, security: review } = await scanning;
    all.push(...fileProblems, ...(review?.diagnostics ?? []));
    security = review?.summary;
    if (!outcome.ok) all.push(skipped(outcome));
    else {
      codeChecks = 'ran';
      all.push(...codeDiagnostics(lists, outcome.result, locator));
    }
  }

  if (opts.strict) for (const d of all) if (d.severity === 'warning') d.severity = 'error';
  const errors = all.filter((d): d is Diagnostic => d.severity === 'error').sort(byLocation);
  const warnings = all.filter((d): d is Diagnostic => d.severity === 'warning').sort(byLocation);
  const infos = all.filter((d): d is Note => d.severity === 'info').sort(byLocation);
  return { ok: errors.length === 0, errors, warnings, infos, manifest: errors.length ? undefined : manifest, codeChecks, ...(security ? { security } : {}) };
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
