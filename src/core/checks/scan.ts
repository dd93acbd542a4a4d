/**
 * Find @hook(...), @endpoint(...) and @require_permission(...) in
 * src/**\/*.py with Python's own parser (the ast module), run through execa.
 * Decorators are matched by their last name, so `@sdk.hook('x')`,
 * `@security.require_permission('p')` and aliases through plain imports all count.
 */
import { execa } from 'execa';

export type DecoratorKind = 'hook' | 'endpoint' | 'require_permission';

export interface DecoratorUse {
  kind: DecoratorKind;
  /** The literal argument, or undefined when it is not a string literal. */
  value?: string;
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
  files: number;
  syntaxErrors: PySyntaxError[];
}

// Kept small and dependency-free: runs on any Python 3.8+.
const SCRIPT = String.raw`
import ast, json, os, sys
root, sub = sys.argv[1], sys.argv[2]
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
        tree = ast.parse(src, filename=rel)
    except SyntaxError as e:
        errors.append({"file": rel, "line": e.lineno or 0, "column": e.offset or 0, "message": e.msg})
        continue
    except (ValueError, UnicodeDecodeError) as e:
        errors.append({"file": rel, "line": 0, "column": 0, "message": str(e)})
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
json.dump({"uses": uses, "classes": classes, "files": len(files), "syntaxErrors": errors}, sys.stdout)
`;

export async function scanDecorators(
  python: string,
  projectDir: string,
  opts: { env: NodeJS.ProcessEnv; sub?: string },
): Promise<ScanResult> {
  const r = await execa(python, ['-I', '-c', SCRIPT, projectDir, opts.sub ?? 'src'], {
    reject: false,
    env: { ...opts.env, PYTHONDONTWRITEBYTECODE: '1' },
    extendEnv: false,
    timeout: 60_000,
    stdin: 'ignore',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.exitCode !== 0) {
    throw new Error(`the code scanner failed (${python} exit ${r.exitCode}): ${String(r.stderr).trim().split('\n').pop()}`);
  }
  return JSON.parse(String(r.stdout)) as ScanResult;
}
