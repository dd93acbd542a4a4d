/**
 * Where a plugin registers hooks, endpoints and permission checks (the
 * decorators, however they are imported or aliased, and the `self.hooks` /
 * `self.endpoints` dicts), found by scan.py with Python's own parser in the
 * .py files the caller lists (validate passes the archive's file list, so
 * what .pluginignore drops is not checked). Syntax errors are reported for
 * the files the scanner parses (see scan.py); `test` reports the rest when
 * pytest imports them.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { WorkFailedError, type CliError } from '../errors.js';
import { pathCandidates, pinnedPython, probePython } from './discover.js';
import { notRunnableError, tooOldError } from './interpreter.js';
import { cacheDir, readCached, writeCached } from '../io/cache.js';
import { fingerprint, type SourceFile } from './scan-cache.js';
import { pyenvTarget } from './pyenv.js';
import { runPython } from './spawn.js';
import { MIN_PYTHON_TEXT, tooOld } from './version.js';

export type { SourceFile } from './scan-cache.js';

export type { DecoratorKind, DecoratorUse, DynamicDecorator, PluginClass, PySyntaxError, ScanResult } from '../core/checks/scan-result.js';
import type { ScanResult } from '../core/checks/scan-result.js';

export type ScanOutcome =
  { ok: true; result: ScanResult; python: string } | { ok: false; reason: 'not-found' | 'not-runnable'; tried: string[]; detail?: string };

/** The scanner, a real module shipped next to this one (the build copies src/python/*.py into dist/). */
const SCANNER = fileURLToPath(new URL('../python/scan.py', import.meta.url));

// eslint-disable-next-line no-control-regex -- the scanner's last line is shown without its control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** One line of an interpreter's complaint, short and free of control characters. */
function oneLine(text: string): string | undefined {
  const line = text.trim().split('\n').pop()?.replace(CONTROL, ' ').trim();
  if (!line) return undefined;
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/** The scanner's document, or undefined when what was printed is not one (not Python, or not our scanner). */
function parseResult(stdout: string): ScanResult | undefined {
  try {
    const doc = JSON.parse(stdout) as Partial<ScanResult> | null;
    const lists = doc && [doc.uses, doc.dynamic, doc.classes, doc.syntaxErrors].every(Array.isArray);
    return lists && typeof doc.files === 'number' ? (doc as ScanResult) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a pinned interpreter (--python / PLEXICHAT_PYTHON) could not run the
 * scanner: the same errors `test` gives for that setting (not runnable, too
 * old), or the scanner's own failure under a working interpreter.
 */
async function pinnedFailure(pinned: { path: string; source: 'flag' | 'env' }, env: NodeJS.ProcessEnv, detail?: string): Promise<CliError> {
  const info = await probePython(pinned.path, env);
  if (!info) return notRunnableError(pinned);
  if (tooOld(info.version)) return tooOldError(info.path, info.version);
  return new WorkFailedError(`the code scanner failed under ${pinned.path} (Python ${info.version})${detail ? `: ${detail}` : ''}`, {
    code: 'SCAN_FAILED',
    hint: 'run with --verbose for details, or set PLEXICHAT_PYTHON to another interpreter',
  });
}

/** Why an interpreter did not run the scanner: its version when it is too old to (Python 2 refuses even -I), else what it said. */
async function failureDetail(python: string, env: NodeJS.ProcessEnv, said: string | undefined): Promise<string | undefined> {
  const info = await probePython(python, env);
  return info && tooOld(info.version) ? `Python ${info.version}; ${MIN_PYTHON_TEXT} or newer is needed` : said;
}

/**
 * Run the scanner over files with the first interpreter that works. A
 * pinned one (--python / PLEXICHAT_PYTHON) is used alone, and when it
 * cannot run the scan that is an error (thrown), as in `test`; each
 * python3/python on PATH is tried in turn (one too old, or not runnable, is
 * skipped). No separate probe: the scan is the only Python process
 * `validate` starts.
 */
export async function scanProject(
  projectDir: string,
  opts: { env: NodeJS.ProcessEnv; python?: string; files: SourceFile[] | Promise<SourceFile[]> },
): Promise<ScanOutcome> {
  const pinned = pinnedPython(opts.env, opts.python, projectDir);
  const candidates = pinned ? [pinned.path] : pathCandidates(opts.env);
  const cache = candidates.length ? cacheDir(opts.env) : undefined;
  const run = (python: string, input: string | Promise<string>) =>
    // A pyenv shim is run as the interpreter it selects (no shell and pyenv scripts before Python), when that is plain to see.
    runPython(pyenvTarget(python, opts.env, projectDir) ?? python, ['-I', '-S', SCANNER, MIN_PYTHON_TEXT], {
      env: { ...opts.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeoutMs: 120_000,
      input,
    });
  const inputOf = (files: SourceFile[]) => JSON.stringify({ files: files.map((f) => [f.rel, f.abs]) });
  const listed = Promise.resolve(opts.files);
  // Without a cache the first interpreter is started at once: it starts up while the files are listed, then reads them on stdin.
  const early = !cache && candidates.length ? run(candidates[0], listed.then(inputOf)) : undefined;
  const files = await listed;
  const script = cache ? await readFile(SCANNER, 'utf8').catch(() => undefined) : undefined;
  const key = cache && script ? await fingerprint(files, candidates, script) : undefined;
  if (cache && key) {
    const hit = await readCached<{ result: ScanResult; python: string }>(cache, projectDir, key);
    if (hit) return { ok: true, result: hit.result, python: hit.python };
  }
  const input = inputOf(files);
  const tried: string[] = [];
  let detail: string | undefined;
  for (const [i, python] of candidates.entries()) {
    tried.push(python);
    const r = i === 0 && early ? await early : await run(python, input);
    if (r.code === 0) {
      const result = parseResult(r.stdout);
      if (result) {
        if (cache && key) await writeCached(cache, projectDir, key, { result, python });
        return { ok: true, result, python };
      }
      detail = 'the scanner printed no result';
      continue;
    }
    const said = r.error ?? oneLine(r.stderr);
    // A pinned one is probed once, by pinnedFailure, which names a too-old version itself.
    detail = r.code === 3 ? `Python ${MIN_PYTHON_TEXT} or newer is needed` : pinned ? said : await failureDetail(python, opts.env, said);
  }
  if (pinned) throw await pinnedFailure(pinned, opts.env, detail);
  return { ok: false, reason: tried.length ? 'not-runnable' : 'not-found', tried, detail };
}
