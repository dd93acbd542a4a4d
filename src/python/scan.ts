/**
 * Find @hook(...), @endpoint(...) and @require_permission(...) in
 * src/**\/*.py with Python's own parser: scan.py, run with the discovered
 * interpreter. Decorators are matched by their last name, so `@sdk.hook('x')`,
 * `@security.require_permission('p')` and aliases through plain imports all count.
 * Syntax errors are reported for the files the scanner parses (see scan.py);
 * `test` reports the rest when pytest imports them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathCandidates, pinnedPython } from './discover.js';
import { cacheDir, fingerprint, readCached, writeCached } from './scan-cache.js';
import { runPython } from './spawn.js';
import { MIN_PYTHON_TEXT } from './version.js';

export type DecoratorKind = 'hook' | 'endpoint' | 'require_permission';

export interface DecoratorUse {
  kind: DecoratorKind;
  /** The literal argument; null (from the scanner's JSON) when it is not a string literal. */
  value: string | null;
  file: string;
  line: number;
  column: number;
  /** The decorated function. */
  function: string;
}

export interface PySyntaxError {
  file: string;
  line: number;
  column: number;
  message: string;
  /** 'syntax' for a SyntaxError, 'unreadable' for a file that could not be read or decoded. */
  kind: 'syntax' | 'unreadable';
}

export interface PluginClass {
  name: string;
  file: string;
  line: number;
}

export interface ScanResult {
  uses: DecoratorUse[];
  /** Classes deriving from Plugin (by base name). */
  classes: PluginClass[];
  /** Python files under src/, and how many of them were parsed. */
  files: number;
  parsed: number;
  syntaxErrors: PySyntaxError[];
}

export type ScanOutcome =
  | { ok: true; result: ScanResult; python: string }
  | { ok: false; reason: 'not-found' | 'not-runnable'; tried: string[]; path?: string; detail?: string };

/** The scanner, a real module shipped next to this one (the build copies src/python/*.py into dist/). */
const SCANNER = fileURLToPath(new URL('./scan.py', import.meta.url));

/**
 * Run the scanner with the first interpreter that works: the pinned one
 * (--python / PLEXICHAT_PYTHON) alone, else each python3/python on PATH in
 * turn (one too old, or not runnable, is skipped). No separate probe: the
 * scan is the only Python process `validate` starts.
 */
export async function scanProject(
  projectDir: string,
  opts: { env: NodeJS.ProcessEnv; python?: string; sub?: string },
): Promise<ScanOutcome> {
  const pinned = pinnedPython(opts.env, opts.python, projectDir);
  const candidates = pinned ? [pinned.path] : pathCandidates(opts.env);
  const sub = opts.sub ?? 'src';
  const cache = candidates.length ? cacheDir(opts.env) : undefined;
  const script = cache ? await readFile(SCANNER, 'utf8').catch(() => undefined) : undefined;
  const key = cache && script ? await fingerprint(path.join(projectDir, sub), candidates, script) : undefined;
  if (cache && key) {
    const hit = await readCached<{ result: ScanResult; python: string }>(cache, projectDir, key);
    if (hit) return { ok: true, result: hit.result, python: hit.python };
  }
  const tried: string[] = [];
  let detail: string | undefined;
  for (const python of candidates) {
    tried.push(python);
    const r = await runPython(python, ['-I', SCANNER, projectDir, sub, MIN_PYTHON_TEXT], {
      env: { ...opts.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeoutMs: 120_000,
    });
    if (r.code === 0) {
      try {
        const result = JSON.parse(r.stdout) as ScanResult;
        if (cache && key) await writeCached(cache, projectDir, key, { result, python });
        return { ok: true, result, python };
      } catch {
        detail = 'the scanner printed no result';
        continue;
      }
    }
    detail = r.code === 3 ? `Python ${MIN_PYTHON_TEXT} or newer is needed` : (r.error ?? r.stderr.trim().split('\n').pop());
  }
  if (pinned) return { ok: false, reason: 'not-runnable', tried, path: pinned.path, detail };
  return { ok: false, reason: tried.length ? 'not-runnable' : 'not-found', tried, detail };
}
