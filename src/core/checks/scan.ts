/**
 * Find @hook(...), @endpoint(...) and @require_permission(...) in
 * src/**\/*.py with Python's own parser (the ast module), run through execa.
 * Decorators are matched by their last name, so `@sdk.hook('x')`,
 * `@security.require_permission('p')` and aliases through plain imports all count.
 *
 * Only files that can hold what the checks look for are parsed: a decorator
 * written `@…hook(`, `@…endpoint(`, `@…require_permission(`, or a class with
 * `Plugin` among its bases. Parsing every module cost ~12 s of CPU on a
 * 5,000-file plugin; the text filter reads them in well under a second and
 * loses no decorator (one cannot be applied with @ without that text).
 * Syntax errors are therefore reported for the files parsed; `test` reports
 * the rest when pytest imports them.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { pathCandidates, pinnedPython } from '../python-path.js';
import { cacheDir, fingerprint, readCached, writeCached } from './scan-cache.js';

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

// Kept small and dependency-free: runs on any Python 3.8+.
const SCRIPT = String.raw`
import ast, json, os, re, sys
if sys.version_info < (3, 8):
    sys.exit(3)
root, sub = sys.argv[1], sys.argv[2]
INTEREST = re.compile(rb"@\s*[\w.]*\b(?:hook|endpoint|require_permission)\s*\(|\bclass\s+\w+\s*\([^)]*\bPlugin\b")
parsed = 0
KINDS = {"hook": "hook", "endpoint": "endpoint", "require_permission": "require_permission"}
uses, errors, classes = [], [], []

def last_name(node):
    if isinstance(node, ast.Name): return node.id
    if isinstance(node, ast.Attribute): return node.attr
    return None

def literal(call, kind):
    node = call.args[0] if call.args else None
    if node is None:
        for kw in call.keywords:
            if kw.arg in ("name", "path", "permission", "hook"):
                node = kw.value
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None

base = os.path.join(root, sub)
files = []
for d, dirs, names in os.walk(base):
    dirs[:] = sorted(x for x in dirs if x not in ("__pycache__",) and not x.startswith("."))
    for n in sorted(names):
        if n.endswith(".py"):
            files.append(os.path.join(d, n))
for path in files:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    try:
        with open(path, "rb") as f:
            src = f.read()
    except OSError as e:
        errors.append({"file": rel, "line": 0, "column": 0, "message": e.strerror or str(e), "kind": "unreadable"})
        continue
    if not INTEREST.search(src):
        continue
    parsed += 1
    try:
        tree = ast.parse(src, filename=rel)
    except SyntaxError as e:
        errors.append({"file": rel, "line": e.lineno or 0, "column": e.offset or 0, "message": e.msg, "kind": "syntax"})
        continue
    except (ValueError, UnicodeDecodeError) as e:
        errors.append({"file": rel, "line": 0, "column": 0, "message": str(e), "kind": "unreadable"})
        continue
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(last_name(b) == "Plugin" for b in node.bases):
            classes.append({"name": node.name, "file": rel, "line": node.lineno})
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for dec in node.decorator_list:
            if not isinstance(dec, ast.Call):
                continue
            kind = KINDS.get(last_name(dec.func))
            if not kind:
                continue
            uses.append({"kind": kind, "value": literal(dec, kind), "file": rel,
                         "line": dec.lineno, "column": dec.col_offset + 1, "function": node.name})
json.dump({"uses": uses, "classes": classes, "files": len(files), "parsed": parsed, "syntaxErrors": errors}, sys.stdout)
`;

export type ScanOutcome =
  | { ok: true; result: ScanResult; python: string }
  | { ok: false; reason: 'not-found' | 'not-runnable'; tried: string[]; path?: string; detail?: string };

interface Run {
  code: number | string | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        const code = err ? ((err as NodeJS.ErrnoException).code ?? (err as { status?: number }).status ?? 1) : 0;
        resolve({ code: typeof code === 'number' || typeof code === 'string' ? code : 1, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

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
  const key = cache ? await fingerprint(path.join(projectDir, sub), candidates, SCRIPT) : undefined;
  if (cache && key) {
    const hit = await readCached<{ result: ScanResult; python: string }>(cache, projectDir, key);
    if (hit) return { ok: true, result: hit.result, python: hit.python };
  }
  const tried: string[] = [];
  let detail: string | undefined;
  for (const python of candidates) {
    tried.push(python);
    const r = await run(python, ['-I', '-c', SCRIPT, projectDir, sub], opts.env);
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
    detail = r.code === 3 ? 'Python 3.8 or newer is needed' : typeof r.code === 'string' ? r.code : r.stderr.trim().split('\n').pop();
  }
  if (pinned) return { ok: false, reason: 'not-runnable', tried, path: pinned.path, detail };
  return { ok: false, reason: tried.length ? 'not-runnable' : 'not-found', tried, detail };
}
