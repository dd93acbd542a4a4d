"""Find where a plugin registers hooks, endpoints and permission checks, and
its Plugin classes, with Python's own parser; print one JSON document.

Run by the CLI (src/python/scan.ts) as

    python -I scan.py <min-version>   < {"files": [[rel, abs], ...]}

with the plugin's src/**/*.py files as the archive will hold them. Exit 3
when this interpreter is older than <min-version> ("3.8"). Standard library
only.

Registrations found:
  * decorators `@hook('x')`, `@endpoint('/p')`, `@require_permission('a', 'b')`
    however the name is bound: `from plexichat_plugin_sdk import hook as h`,
    `import plexichat_plugin_sdk as sdk` + `@sdk.hook`, `from
    plexichat_plugin_sdk import security` + `@security.require_permission`,
    re-assignment (`h = hook`), a decorator built once (`admin = require_permission('a')`
    + `@admin`), `getattr(sdk, 'hook')`, re-exports through the plugin's own
    modules (`from .decorators import h`), and the call form `hook('x')(fn)`;
  * dictionaries in a Plugin class's methods: `self.hooks = {'x': self.f}`,
    `self.endpoints = {'/p': self.g}` (also `dict(x=...)` and `self.hooks['x'] = ...`).
A decorator that may be the SDK's but is bound in a way that cannot be
followed (a computed getattr, different bindings on different paths, a
wrapper function) is listed under "dynamic" instead of being dropped.

Only files that can hold what the checks look for are parsed: a decorator
line, a class with `Plugin` among its bases, `.hooks` / `.endpoints`, a
decorator named hook/endpoint/require_permission, or a module that names
the SDK and does more with it than import it. A module whose only contact
with the SDK is its import statements (the names it imports are never
called, decorated with, re-assigned, or reached into) registers nothing
itself: it is not parsed unless another module resolves a name through it
(then it is, on demand), and modules that import from it are still looked
at (it may re-export the SDK's names). Parsing every module of a
5,000-file plugin whose modules all import the SDK cost ~80 s of CPU; the
text filter reads them in well under a second.
"""
import ast
import json
import re
import sys

SDK = "plexichat_plugin_sdk"
KINDS = ("hook", "endpoint", "require_permission")
REGISTRIES = {"hooks": "hook", "endpoints": "endpoint"}
INTEREST = re.compile(
    rb"^[ \t]*@|@\s*[\w.]*\b(?:hook|endpoint|require_permission)\b"
    rb"|\bclass\s+\w+\s*\([^)]*\bPlugin\b|\.(?:hooks|endpoints)\b",
    re.M,
)
SDK_NAME = b"plexichat_plugin_sdk"
# Top-level import statements of the SDK (one line, or a parenthesised list over several).
SDK_IMPORT = re.compile(
    rb"^(?:from[ \t]+plexichat_plugin_sdk(?:\.[\w.]+)?[ \t]+import[ \t]*(\([^)]*\)|[^\n]*)"
    rb"|import[ \t]+(plexichat_plugin_sdk[^\n]*))",
    re.M,
)
# Whatever can reach a name other than by its plain spelling (and a line continued with a backslash).
INDIRECT = (b"getattr", b"setattr", b"globals", b"vars", b"locals", b"__import__", b"import_module", b"exec", b"eval", b"\\\n")


DECORATOR = re.compile(rb"^[ \t]*@", re.M)
PLUGIN_CLASS = re.compile(rb"\bclass\s+\w+\s*\([^)]*\bPlugin\b")


def interesting(src):
    """Can hold what the checks look for: a decorator, a Plugin class, a registry (each a cheap test first)."""
    if b"@" in src and (DECORATOR.search(src) or INTEREST.search(src)):
        return True
    if (b".hooks" in src or b".endpoints" in src) and INTEREST.search(src):
        return True
    return b"class" in src and b"Plugin" in src and PLUGIN_CLASS.search(src) is not None


def used(name, rest):
    """A name imported from the SDK is used as the SDK's: called, aliased, subscripted, or (a module) reached into."""
    reach = name.decode() not in KINDS and name != b"Plugin"
    size, at = len(name), rest.find(name)
    while at != -1:
        end = at + size
        whole = (at == 0 or not (rest[at - 1:at].isalnum() or rest[at - 1:at] == b"_")) and not (rest[end:end + 1].isalnum() or rest[end:end + 1] == b"_")
        if whole:
            after = rest[end:end + 40].lstrip(b" \t")[:1]
            if after in (b"(", b"[") or (reach and after == b"."):
                return True
            before = rest[max(0, at - 40):at].rstrip(b" \t")
            if before.endswith(b"=") and not before.endswith((b"==", b"!=", b"<=", b">=")) and after in (b"", b"\n", b",", b";", b")", b"]", b"}", b"#"):
                return True
        at = rest.find(name, end)
    return False


def sdk_imports(src):
    """The top-level import statements that name the SDK, as (start, end) spans; None when it is named anywhere else."""
    spans, at = [], src.find(SDK_NAME)
    while at != -1:
        start = src.rfind(b"\n", 0, at) + 1
        head = src[start:at]
        if head == b"import " or head.startswith(b"import ") and head.rstrip().endswith(b","):
            pass
        elif not (head.startswith(b"from ") and head[5:].strip() == b""):
            return None
        end = src.find(b"\n", at)
        end = len(src) if end == -1 else end
        line = src[start:end]
        if line.startswith(b"from ") and line.rstrip().endswith(b"("):
            close = src.find(b")", end)
            if close == -1:
                return None
            end = close + 1
        spans.append((start, end))
        at = src.find(SDK_NAME, end)
    return spans


def imports_only(src):
    """True when a module's only contact with the SDK is importing names it never uses as the SDK's.

    Used names are: called (`hook(`), aliased (`h = hook`), subscripted, reached into
    (`sdk.hook`, for names that are not the decorators or Plugin). Anything else that could
    bind or apply them (a star import, an import inside a block, getattr and friends, the
    SDK named outside its top-level import statements) makes the module worth parsing.
    """
    spans = sdk_imports(src)
    if not spans:
        return False
    names, pieces, last = set(), [], 0
    for start, end in spans:
        m = SDK_IMPORT.match(src, start)
        if m is None or m.end() < end and src[m.end():end].strip():
            return False
        if m.group(1) is not None:
            body = m.group(1).strip(b"()")
            if b"*" in body:
                return False
            for part in re.split(rb"[,\s]*\n[,\s]*|,", body):
                words = part.split(b"#")[0].split()
                if words:
                    names.add(words[-1])
        else:
            for part in m.group(2).split(b"#")[0].split(b","):
                words = part.split()
                if words:
                    names.add(words[-1].split(b".")[0])
        pieces.append(src[last:start])
        last = end
    pieces.append(src[last:])
    rest = b"".join(pieces)
    if any(w in rest for w in INDIRECT):
        return False
    for n in names:
        if not re.match(rb"^\w+$", n) or used(n, rest):
            return False
    return True


IMPORT_ERRORS = ("ImportError", "ModuleNotFoundError")
MATCH = getattr(ast, "Match", None)
INF = float("inf")

# What a name is bound to, as far as the scanner can tell (tuples):
#   ("kind", k)                       the SDK's hook / endpoint / require_permission
#   ("applied", k, call, module)      the decorator one of them returned: require_permission('a')
#   ("module", dotted)                the SDK package or one of its modules
#   ("plugin",)                       the SDK's Plugin class
#   ("local", dotted)                 a module of the plugin itself
#   ("class", module, node, scope)    a class defined in the plugin
#   ("dynamic", reason)               derived from the SDK in a way that cannot be followed
#   ("other", what)                   something that is not the SDK's
#   ("unbound", name)                 not bound anywhere the scanner looked
SDKISH = ("kind", "applied", "module", "plugin", "dynamic")


class Binding(object):
    __slots__ = ("line", "conditional", "make", "value", "busy")

    def __init__(self, line, conditional, make):
        self.line, self.conditional, self.make = line, conditional, make
        self.value, self.busy = None, False

    def get(self):
        if self.value is None:
            if self.busy:
                return ("dynamic", "bound in a circle")
            self.busy = True
            self.value = self.make()
            self.busy = False
        return self.value


class Scope(object):
    def __init__(self, kind, parent, module, node=None):
        self.kind, self.parent, self.module, self.node = kind, parent, module, node
        self.bindings = {}
        self.stars = []  # (line, module value) of `from M import *`

    def bind(self, name, line, conditional, make):
        self.bindings.setdefault(name, []).append(Binding(line, conditional, make))


class Module(object):
    def __init__(self, rel, path):
        self.rel, self.path = rel, path
        parts = rel[:-3].split("/")
        self.package = ".".join(parts[:-1])
        if parts[-1] == "__init__":
            parts = parts[:-1]
        self.dotted = ".".join(parts)
        self.src = None
        self.state = "new"  # new, parsed, failed
        self.counted = False
        self.done = False
        self.exports = False  # binds something of the SDK's (or a Plugin class) at top level
        self.release()

    def release(self):
        """Forget the parse (it is redone if another module imports this one later)."""
        self.tree = self.scope = None
        self.scopes = {}  # function / class node -> its Scope
        self.class_values = {}  # class node -> its binding value
        if self.state == "parsed":
            self.state = "new"


def same(a, b):
    """Whether two bindings are the same thing (an applied decorator: the same literal arguments)."""
    if a[0] != b[0]:
        return False
    if a[0] == "applied":
        return a[1] == b[1] and call_values(a[1], a[2]) == call_values(b[1], b[2])
    if a[0] == "class":
        return a[2] is b[2]
    return a == b


def merge(values, lines, how="bound to different things on different paths"):
    first = values[0]
    if all(same(first, v) for v in values[1:]):
        return first
    if any(v[0] in SDKISH for v in values):
        at = sorted(set(lines))
        return ("dynamic", "%s (line%s %s)" % (how, "s" if len(at) > 1 else "", ", ".join(str(n) for n in at)))
    return ("other", "one of several bindings")


def literal(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def call_values(kind, call):
    """The names a decorator call registers: one for hook/endpoint, each argument of require_permission."""
    if kind == "require_permission":
        values = [None if isinstance(a, ast.Starred) else literal(a) for a in call.args]
        return values or [None]
    node = call.args[0] if call.args else None
    if node is None:
        for kw in call.keywords:
            if kw.arg in ("name", "path", "permission", "hook"):
                node = kw.value
    return [literal(node)]


def last_name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def source(module, node, limit=60):
    text = ast.get_source_segment(module.text, node) or ast.dump(node)[:limit]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class Scanner(object):
    def __init__(self, files):
        self.modules = [Module(rel, path) for rel, path in files]
        self.by_dotted = {}
        for m in self.modules:
            self.by_dotted.setdefault(m.dotted, m)
        for m in self.modules:  # also importable without the "src." prefix
            short = m.dotted.split(".", 1)[1] if "." in m.dotted else None
            if short:
                self.by_dotted.setdefault(short, m)
        # folders without __init__.py are packages too (namespace packages)
        self.packages = set(d.rsplit(".", i)[0] for d in list(self.by_dotted) for i in range(1, d.count(".") + 1))
        self.plugin_memo = {}  # (file, line, column) of a class -> derives from Plugin
        self.star_busy = set()
        self.out = {"uses": [], "dynamic": [], "classes": [], "files": len(files), "parsed": 0, "syntaxErrors": []}

    # -- reading and parsing ---------------------------------------------

    def read(self, m):
        try:
            with open(m.path, "rb") as f:
                m.src = f.read()
        except OSError as e:
            self.error(m, 0, 0, e.strerror or str(e), "unreadable")
            m.state = "failed"

    def error(self, m, line, column, message, kind):
        self.out["syntaxErrors"].append({"file": m.rel, "line": line, "column": column, "message": message, "kind": kind})

    def load(self, m):
        """Parse a module and collect its bindings once; False when it cannot be parsed."""
        if m.state == "new":
            if m.src is None:
                self.read(m)
            if m.state == "new":
                self.parse(m)
        return m.state == "parsed"

    def parse(self, m):
        if not m.counted:
            self.out["parsed"] += 1
            m.counted = True
        try:
            m.tree = ast.parse(m.src, filename=m.rel)
        except SyntaxError as e:
            self.error(m, e.lineno or 0, e.offset or 0, e.msg, "syntax")
            m.state = "failed"
            return
        except (ValueError, UnicodeDecodeError) as e:
            self.error(m, 0, 0, str(e), "unreadable")
            m.state = "failed"
            return
        m.text = m.src.decode("utf-8", "replace")
        m.scope = Scope("module", None, m)
        m.state = "parsed"
        self.collect(m.tree.body, m.scope, False)

    # -- bindings ----------------------------------------------------------

    def collect(self, body, scope, cond):
        for st in body:
            self.collect_stmt(st, scope, cond)

    def collect_stmt(self, st, scope, cond):
        line, m = st.lineno, scope.module
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
            what = "the function %s() at %s:%d" % (st.name, m.rel, line)
            scope.bind(st.name, line, cond, lambda: ("other", what))
            child = m.scopes[st] = Scope("function", scope, m, st)
            a = st.args
            for arg in a.args + a.kwonlyargs + getattr(a, "posonlyargs", []) + [x for x in (a.vararg, a.kwarg) if x]:
                child.bind(arg.arg, line, False, lambda: ("other", "a parameter"))
            self.collect(st.body, child, False)
        elif isinstance(st, ast.ClassDef):
            child = m.scopes[st] = Scope("class", scope, m, st)
            value = m.class_values[st] = ("class", m, st, scope)
            scope.bind(st.name, line, cond, lambda: value)
            self.collect(st.body, child, False)
        elif isinstance(st, ast.Import):
            for alias in st.names:
                dotted = alias.name if alias.asname else alias.name.split(".")[0]
                scope.bind(alias.asname or dotted, line, cond, lambda d=dotted: self.module_value(d))
        elif isinstance(st, ast.ImportFrom):
            self.collect_from(st, scope, cond)
        elif isinstance(st, ast.Assign):
            for t in st.targets:
                self.bind_target(t, st.value, scope, line, cond)
        elif isinstance(st, ast.AnnAssign) and st.value is not None:
            self.bind_target(st.target, st.value, scope, line, cond)
        elif isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name):
            scope.bind(st.target.id, line, cond, lambda: self.opaque(st, scope, line, "an augmented assignment"))
        else:
            self.collect_compound(st, scope, cond)

    def collect_from(self, st, scope, cond):
        line = st.lineno
        base = Binding(line, cond, lambda: self.module_value(self.absolute(scope.module, st.level, st.module)))
        for alias in st.names:
            if alias.name == "*":
                scope.stars.append((line, cond, base))
            else:
                scope.bind(alias.asname or alias.name, line, cond, lambda n=alias.name: self.attr(base.get(), n))

    def collect_compound(self, st, scope, cond):
        line = st.lineno
        if isinstance(st, (ast.For, ast.AsyncFor)):
            self.bind_opaque(st.target, st.iter, scope, line, True, "a loop variable")
            self.collect(st.body, scope, True)
            self.collect(st.orelse, scope, True)
        elif isinstance(st, (ast.While, ast.If)):
            self.collect(st.body, scope, True)
            self.collect(st.orelse, scope, True)
        elif isinstance(st, (ast.With, ast.AsyncWith)):
            for item in st.items:
                if item.optional_vars is not None:
                    self.bind_opaque(item.optional_vars, item.context_expr, scope, line, cond, "a with target")
            self.collect(st.body, scope, cond)
        elif isinstance(st, ast.Try) or type(st).__name__ == "TryStar":
            self.collect(st.body, scope, cond)
            for h in st.handlers:
                if h.name:
                    scope.bind(h.name, h.lineno, True, lambda: ("other", "an exception"))
                # `except ImportError:` holds a fallback for when the SDK is not installed:
                # under the SDK it never runs, so its bindings do not count.
                self.collect(h.body, Scope("fallback", scope, scope.module) if self.import_fallback(h) else scope, True)
            self.collect(st.orelse, scope, True)
            self.collect(st.finalbody, scope, cond)
        elif MATCH is not None and isinstance(st, MATCH):
            for case in st.cases:
                self.collect(case.body, scope, True)

    @staticmethod
    def import_fallback(handler):
        t = handler.type
        names = t.elts if isinstance(t, ast.Tuple) else [t] if t is not None else []
        return bool(names) and all(last_name(n) in IMPORT_ERRORS for n in names)

    def bind_target(self, t, value, scope, line, cond):
        if isinstance(t, ast.Name):
            scope.bind(t.id, line, cond, lambda: self.resolve(value, scope, line))
        elif isinstance(t, (ast.Tuple, ast.List)):
            pairs = isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(t.elts)
            if pairs and not any(isinstance(x, ast.Starred) for x in t.elts + value.elts):
                for a, b in zip(t.elts, value.elts):
                    self.bind_target(a, b, scope, line, cond)
            else:
                self.bind_opaque(t, value, scope, line, cond, "unpacked from %s" % source(scope.module, value))

    def bind_opaque(self, target, value, scope, line, cond, what):
        for n in ast.walk(target):
            if isinstance(n, ast.Name):
                scope.bind(n.id, line, cond, lambda: self.opaque(value, scope, line, what))

    def opaque(self, expr, scope, line, what):
        """What an expression the scanner does not follow is: dynamic when it involves the SDK."""
        for n in ast.walk(expr):
            if isinstance(n, ast.Name) and self.lookup(n.id, scope, line)[0] in SDKISH:
                return ("dynamic", "%s involving %s" % (what, n.id))
        return ("other", what)

    # -- resolution ----------------------------------------------------------

    def lookup(self, name, scope, line):
        values, lines = [], []
        s, limit, first = scope, line, True
        while s is not None:
            if s.kind not in ("class", "fallback") or first:
                found = self.lookup_in(s, name, limit)
                if found is not None:
                    vals, lns, complete = found
                    values += vals
                    lines += lns
                    if complete:
                        return merge(values, lines)
            if s.kind == "function":
                limit = INF  # a function body runs after the enclosing scope has finished
            s, first = s.parent, False
        values.append(("unbound", name))
        return merge(values, lines) if len(values) > 1 else values[0]

    def lookup_in(self, s, name, limit):
        """The bindings of name in scope s before line limit: (values, lines, complete) or None."""
        bs = [b for b in s.bindings.get(name, ()) if b.line < limit]
        for line, cond, base in s.stars:
            if line < limit:
                value = self.star_value(base.get(), name)
                if value is not None:
                    bs.append(Binding(line, cond, lambda v=value: v))
        if not bs:
            return None
        bs.sort(key=lambda b: b.line)
        last = max([i for i, b in enumerate(bs) if not b.conditional], default=None)
        chosen = bs if last is None else bs[last:]
        return [b.get() for b in chosen], [b.line for b in chosen], last is not None

    def star_value(self, base, name):
        """What `from M import *` binds name to, when it binds it."""
        if base[0] == "module":
            return self.attr(base, name) if name in KINDS or name == "Plugin" else None
        key = (base[1], name)
        if base[0] == "local" and key not in self.star_busy:
            m = self.by_dotted.get(base[1])
            if m and self.load(m) and (name in m.scope.bindings or m.scope.stars):
                self.star_busy.add(key)  # two modules may star-import each other
                value = self.lookup(name, m.scope, INF)
                self.star_busy.discard(key)
                return None if value[0] == "unbound" else value
        return None

    def resolve(self, e, scope, line):
        if isinstance(e, ast.Name):
            return self.lookup(e.id, scope, line)
        if isinstance(e, ast.Attribute):
            return self.attr(self.resolve(e.value, scope, line), e.attr)
        if isinstance(e, ast.Call):
            return self.resolve_call(e, scope, line)
        if isinstance(e, ast.IfExp):
            return merge([self.resolve(e.body, scope, line), self.resolve(e.orelse, scope, line)], [e.lineno], "chosen by a condition")
        if isinstance(e, ast.BoolOp):
            return merge([self.resolve(v, scope, line) for v in e.values], [e.lineno], "chosen by a condition")
        if isinstance(e, getattr(ast, "NamedExpr", ())):
            return self.resolve(e.value, scope, line)
        return self.opaque(e, scope, line, source(scope.module, e))

    def resolve_call(self, e, scope, line):
        f = self.resolve(e.func, scope, line)
        if f[0] == "kind":
            return ("applied", f[1], e, scope.module)
        if f == ("unbound", "getattr") and len(e.args) >= 2:
            obj, name = self.resolve(e.args[0], scope, line), literal(e.args[1])
            if name is not None:
                return self.attr(obj, name)
            if obj[0] in SDKISH:
                return ("dynamic", "getattr() with a name that is not a string literal")
        if f in (("unbound", "__import__"), ("other", "importlib.import_module")) and e.args and literal(e.args[0]):
            name = literal(e.args[0])
            return self.module_value(name.split(".")[0] if f[0] == "unbound" else name)
        return self.opaque(e, scope, line, "the result of %s" % source(scope.module, e.func))

    def attr(self, base, name):
        k = base[0]
        if k == "module":
            if name in KINDS:
                return ("kind", name)
            return ("plugin",) if name == "Plugin" else ("module", base[1] + "." + name)
        if k == "local":
            return self.local_attr(base[1], name)
        if k in ("unbound", "dynamic"):
            return ("unbound", name) if k == "unbound" else base
        if k == "other":
            return ("other", base[1] + "." + name)
        if k == "class":
            return ("other", "an attribute of the class %s" % base[2].name)
        return ("dynamic", "an attribute of the SDK's %s" % (base[1] if len(base) > 1 else "Plugin"))

    def local_attr(self, dotted, name):
        m = self.by_dotted.get(dotted)
        if m is not None and self.load(m):
            value = self.lookup(name, m.scope, INF)
            if value[0] != "unbound":
                return value
        elif m is not None:
            return ("dynamic", "imported from %s, which cannot be parsed" % m.rel)
        return self.module_value(dotted + "." + name)

    def module_value(self, dotted):
        if dotted == SDK or dotted.startswith(SDK + "."):
            return ("module", dotted)
        m = self.by_dotted.get(dotted)
        if m is not None:
            return ("local", m.dotted)
        return ("local", dotted) if dotted in self.packages else ("other", dotted)

    @staticmethod
    def absolute(m, level, name):
        if not level:
            return name or ""
        parts = m.package.split(".") if m.package else []
        parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
        return ".".join(parts + ([name] if name else []))

    def is_plugin_class(self, value):
        node = value[2]
        key = (value[1].rel, node.lineno, node.col_offset)
        if key in self.plugin_memo:
            return self.plugin_memo[key]
        self.plugin_memo[key] = False  # while deciding: no class derives from itself
        found = False
        for b in node.bases:
            v = self.resolve(b, value[3], node.lineno)
            if v == ("plugin",) or (v[0] == "class" and self.is_plugin_class(v)):
                found = True
            elif v[0] in ("unbound", "other") and last_name(b) == "Plugin":
                found = True  # a base named Plugin from elsewhere, as before aliases were followed
        self.plugin_memo[key] = found
        return found

    # -- registrations -------------------------------------------------------

    def use(self, m, kind, value, at, function, style, cls):
        self.out["uses"].append({"kind": kind, "value": value, "file": m.rel, "line": at.lineno,
                                 "column": at.col_offset + 1, "function": function, "style": style, "class": cls})

    def dynamic(self, m, at, function, text, reason):
        self.out["dynamic"].append({"file": m.rel, "line": at.lineno, "column": at.col_offset + 1,
                                    "function": function, "decorator": text, "reason": reason})

    def walk(self, node, scope, owner):
        """Every registration in node; owner is the class value when scope is one of its methods."""
        m = scope.module
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            cls = scope.node.name if scope.kind == "class" else None
            for dec in node.decorator_list:
                self.decorator(dec, node.name, scope, cls)
            child = m.scopes[node]
            method_of = m.class_values[scope.node] if scope.kind == "class" else None
            for st in node.body:
                self.walk(st, child, method_of)
            return
        if isinstance(node, ast.ClassDef):
            value = m.class_values[node]
            if self.is_plugin_class(value):
                self.out["classes"].append({"name": node.name, "file": m.rel, "line": node.lineno})
            for st in node.body:
                self.walk(st, m.scopes[node], None)
            return
        if owner is not None and isinstance(node, (ast.Assign, ast.AnnAssign)) and self.is_plugin_class(owner):
            self.registry(node, scope, owner[2].name)
        if isinstance(node, ast.Call):
            self.call_form(node, scope)
        for child in ast.iter_child_nodes(node):
            self.walk(child, scope, owner)

    def decorator(self, dec, function, scope, cls):
        m = scope.module
        target = dec.func if isinstance(dec, ast.Call) else dec
        v = self.resolve(target, scope, dec.lineno)
        if isinstance(dec, ast.Call) and (v[0] == "kind" or (v[0] == "unbound" and v[1] in KINDS)):
            # an unbound name (no import found) counts by its name, as the SDK's
            for value in call_values(v[1], dec):
                self.use(m, v[1], value, dec, function, "decorator", cls)
        elif not isinstance(dec, ast.Call) and v[0] == "applied":
            for value in call_values(v[1], v[2]):
                self.use(m, v[1], value, dec, function, "decorator", cls)
        elif not isinstance(dec, ast.Call) and v[0] == "kind":
            self.dynamic(m, dec, function, source(m, dec), "is applied without its argument (write @%s(...))" % v[1])
        elif v[0] == "dynamic":
            self.dynamic(m, dec, function, source(m, dec), v[1])
        elif v[0] == "other" and last_name(target) in KINDS:
            self.dynamic(m, dec, function, source(m, dec), "is %s, not plexichat_plugin_sdk's %s" % (v[1], last_name(target)))

    def call_form(self, node, scope):
        """`hook('x')(fn)` or `admin_only(fn)`: a decorator applied by a call."""
        if not node.args:
            return
        v = self.resolve(node.func, scope, node.lineno)
        if v[0] == "applied":
            function = last_name(node.args[0]) or source(scope.module, node.args[0])
            for value in call_values(v[1], v[2]):
                self.use(scope.module, v[1], value, node, function, "call", scope.node.name if scope.kind == "class" else None)

    def registry(self, node, scope, cls):
        """self.hooks = {...} / self.endpoints = {...} / self.hooks['x'] = ... in a Plugin class's method."""
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            if isinstance(t, ast.Subscript) and self_attr(t.value) in REGISTRIES:
                key = t.slice.value if type(t.slice).__name__ == "Index" else t.slice
                self.entry(scope, REGISTRIES[self_attr(t.value)], key, node.value, cls)
            elif self_attr(t) in REGISTRIES and node.value is not None:
                self.registry_value(scope, REGISTRIES[self_attr(t)], t.attr, node.value, cls)

    def registry_value(self, scope, kind, attr, value, cls):
        m = scope.module
        if isinstance(value, ast.Dict):
            for k, v in zip(value.keys, value.values):
                if k is None:
                    self.use(m, kind, None, v, "**%s" % source(m, v), "dict", cls)
                else:
                    self.entry(scope, kind, k, v, cls)
        elif isinstance(value, ast.Call) and last_name(value.func) == "dict" and not value.args:
            for kw in value.keywords:
                if kw.arg is None:
                    self.use(m, kind, None, kw.value, "**%s" % source(m, kw.value), "dict", cls)
                else:
                    self.use(m, kind, kw.arg, kw.value, handler(m, kw.value), "dict", cls)
        else:
            self.use(m, kind, None, value, "self.%s = %s" % (attr, source(m, value)), "dict", cls)

    def entry(self, scope, kind, key, value, cls):
        self.use(scope.module, kind, literal(key), key, handler(scope.module, value), "dict", cls)

    # -- the run -------------------------------------------------------------

    def exports(self, m):
        for bs in m.scope.bindings.values():
            v = bs[-1].get()
            if v[0] in SDKISH or (v[0] == "class" and self.is_plugin_class(v)):
                return True
        return False

    def process(self, m):
        """Parse, report and forget one module: only what others import from it is parsed again."""
        if self.load(m):
            for st in m.tree.body:
                self.walk(st, m.scope, None)
            m.exports = self.exports(m)
            m.release()
        m.done = True

    def run(self):
        pending = []
        for m in self.modules:
            self.read(m)
            if m.state != "new":
                continue
            if interesting(m.src):
                pending.append(m)
            elif SDK_NAME in m.src:
                if imports_only(m.src):
                    # Registers nothing; parsed on demand if another module resolves a name through
                    # it, and its importers are looked at as if it re-exported the SDK's names.
                    m.exports = m.done = True
                else:
                    pending.append(m)
        while pending:
            for m in pending:
                self.process(m)
                m.src = None
            # a module that imports from one that binds the SDK's names may use them through it
            names = sorted({part for m in self.modules if m.exports for part in (m.dotted, m.dotted.rsplit(".", 1)[-1])})
            if not names:
                break
            imports = importer_test([n.encode() for n in names])
            pending = [m for m in self.modules if not m.done and m.src is not None and imports(m.src)]
        return self.out


IMPORT_LINE = re.compile(rb"^[ \t]*(?:from|import)[ \t]([^\n]*)", re.M)
DOTTED = re.compile(rb"\w+(?:\.\w+)*")


def importer_test(names):
    """A test of a module's source: does an import statement's line name one of `names` (as a whole dotted name)?

    The same as searching ^[ \\t]*(?:from|import)[ \\t][^\\n]*\\b(?:names)\\b, without compiling one pattern
    of every name (thousands in a large plugin): a whole dotted name on such a line is a run of
    consecutive parts of one dotted word there, looked up in a set.
    """
    if not all(DOTTED.fullmatch(n) for n in names):
        pattern = re.compile(rb"^[ \t]*(?:from|import)[ \t][^\n]*\b(?:%s)\b" % b"|".join(re.escape(n) for n in names), re.M)
        return lambda src: pattern.search(src) is not None
    wanted = set(names)

    def test(src):
        for line in IMPORT_LINE.finditer(src):
            for word in DOTTED.findall(line.group(1)):
                parts = word.split(b".")
                for i in range(len(parts)):
                    name = parts[i]
                    if name in wanted:
                        return True
                    for part in parts[i + 1:]:
                        name += b"." + part
                        if name in wanted:
                            return True
        return False

    return test


def self_attr(node):
    """'hooks' for `self.hooks`, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def handler(m, node):
    """The name of a registered handler: self.f, f, the first of (self.f, ['GET']), or [self.f, self.g]."""
    if isinstance(node, ast.Tuple) and node.elts:
        return handler(m, node.elts[0])
    if isinstance(node, ast.List) and node.elts:
        return ", ".join(handler(m, e) for e in node.elts)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return source(m, node)


def main(argv):
    minimum = argv[1]
    if sys.version_info[:2] < tuple(int(x) for x in minimum.split(".")):
        return 3
    request = json.load(sys.stdin)
    json.dump(Scanner(request["files"]).run(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
