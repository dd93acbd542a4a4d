"""Find @hook(...), @endpoint(...), @require_permission(...) and Plugin
classes in <root>/<sub>/**/*.py with Python's own parser, and print them as
one JSON document. Run by the CLI (src/python/scan.ts) as

    python -I scan.py <root> <sub> <min-version>

Exit 3 when this interpreter is older than <min-version> ("3.8").
Dependency-free: the standard library only.

Only files that can hold what the checks look for are parsed (a decorator
written `@...hook(` and so on, or a class with `Plugin` among its bases):
parsing every module of a 5,000-file plugin cost ~12 s of CPU, the text
filter reads them in well under a second and loses no decorator.
"""
import ast
import json
import os
import re
import sys

INTEREST = re.compile(rb"@\s*[\w.]*\b(?:hook|endpoint|require_permission)\s*\(|\bclass\s+\w+\s*\([^)]*\bPlugin\b")
KINDS = {"hook": "hook", "endpoint": "endpoint", "require_permission": "require_permission"}


def last_name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def literal(call):
    node = call.args[0] if call.args else None
    if node is None:
        for kw in call.keywords:
            if kw.arg in ("name", "path", "permission", "hook"):
                node = kw.value
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def python_files(base):
    files = []
    for d, dirs, names in os.walk(base):
        dirs[:] = sorted(x for x in dirs if x not in ("__pycache__",) and not x.startswith("."))
        for n in sorted(names):
            if n.endswith(".py"):
                files.append(os.path.join(d, n))
    return files


def scan_tree(tree, rel, out):
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(last_name(b) == "Plugin" for b in node.bases):
            out["classes"].append({"name": node.name, "file": rel, "line": node.lineno})
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for dec in node.decorator_list:
            if not isinstance(dec, ast.Call):
                continue
            kind = KINDS.get(last_name(dec.func))
            if kind:
                out["uses"].append({"kind": kind, "value": literal(dec), "file": rel,
                                    "line": dec.lineno, "column": dec.col_offset + 1, "function": node.name})


def scan_file(path, rel, out):
    errors = out["syntaxErrors"]
    try:
        with open(path, "rb") as f:
            src = f.read()
    except OSError as e:
        errors.append({"file": rel, "line": 0, "column": 0, "message": e.strerror or str(e), "kind": "unreadable"})
        return
    if not INTEREST.search(src):
        return
    out["parsed"] += 1
    try:
        tree = ast.parse(src, filename=rel)
    except SyntaxError as e:
        errors.append({"file": rel, "line": e.lineno or 0, "column": e.offset or 0, "message": e.msg, "kind": "syntax"})
        return
    except (ValueError, UnicodeDecodeError) as e:
        errors.append({"file": rel, "line": 0, "column": 0, "message": str(e), "kind": "unreadable"})
        return
    scan_tree(tree, rel, out)


def main(argv):
    root, sub, minimum = argv[1], argv[2], argv[3]
    if sys.version_info[:2] < tuple(int(x) for x in minimum.split(".")):
        return 3
    files = python_files(os.path.join(root, sub))
    out = {"uses": [], "classes": [], "files": len(files), "parsed": 0, "syntaxErrors": []}
    for path in files:
        scan_file(path, os.path.relpath(path, root).replace(os.sep, "/"), out)
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
