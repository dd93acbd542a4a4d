"""Loading a plugin project into the host, and loading it again after a change.

Each load is a *generation*: the project's modules are imported afresh (always
compiled from the source on disk, never from a possibly stale ``.pyc``), the
Plugin subclass is found and instantiated, and a :class:`PluginTestHarness`
binds its hooks and endpoints. Only when all of that worked does the caller
swap the new generation in; on any failure the modules of the previous one are
put back, so the last good version keeps serving. A failure is a
:class:`LoadError` that names the file and line to fix.
"""
import importlib
import importlib.machinery
import json
import linecache
import os
import sys
import time
import traceback

from .manifest import ENV_MANIFEST_JSON, ManifestError, load_manifest_file
from .plugin import Plugin, Storage
from .testing import PluginTestHarness

__all__ = ["Generation", "LoadError", "PluginLoader", "plugin_frames", "project_relpath"]

MANIFEST_RELPATH = os.path.join("config", "plugin.yaml")


class LoadError(Exception):
    """The plugin could not be loaded. ``kind``: manifest, syntax, import, class, init."""

    def __init__(self, kind, message, file=None, line=None, column=None, detail=None, source=None, frames=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        #: The whole traceback text, internal frames included: only for ``dev --verbose``
        #: (sent in the reload_failed event's ``traceback``, never in an HTTP body).
        self.detail = detail
        #: The offending line as written (a syntax error), for a caret under ``column``.
        self.source = source
        #: The plugin's own frames, outermost first: [{"file", "line", "function", "source"}].
        self.frames = frames

    def to_dict(self):
        out = {"kind": self.kind, "message": self.message}
        for key in ("file", "line", "column", "source", "frames"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def where(self):
        if not self.file:
            return ""
        return "%s:%s" % (self.file, self.line) if self.line else self.file


class Generation(object):
    """One loaded version of the plugin."""

    def __init__(self, number, plugin, harness, started):
        self.number = number
        self.plugin = plugin
        self.harness = harness
        self.load_ms = round((time.perf_counter() - started) * 1000, 2)
        self.hooks = sorted(harness.get_registered_hooks())
        self.endpoints = {path: harness.get_endpoint_methods(path) for path in sorted(harness.get_registered_endpoints())}

    @property
    def name(self):
        return self.plugin.name

    @property
    def version(self):
        return self.plugin.version

    def describe(self):
        return {
            "plugin": self.name,
            "version": self.version,
            "generation": self.number,
            "hooks": list(self.hooks),
            "endpoints": [{"path": p, "methods": list(m)} for p, m in self.endpoints.items()],
        }

    def close(self):
        """Unload (calls the plugin's on_unload); errors are returned, not raised."""
        try:
            self.harness.close()
        except Exception as e:  # an on_unload that fails must not stop the host
            return e
        return None


def project_relpath(project, path):
    """``path`` relative to the project with forward slashes; absolute when outside it."""
    if not path:
        return None
    path = os.path.abspath(path)
    return os.path.relpath(path, project).replace(os.sep, "/") if _under(project, path) else path


def _under(root, path):
    try:
        rel = os.path.relpath(os.path.abspath(path), root)
    except ValueError:
        return False
    return rel != ".." and not rel.startswith(".." + os.sep) and not os.path.isabs(rel)


def plugin_frames(project, tb):
    """The frames of a traceback that are the plugin's own code (files under ``project``),
    outermost first: the SDK's, the host's and importlib's frames are left out."""
    out = []
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        # "<frozen importlib._bootstrap>" is no file: relative, it would resolve under the project.
        if not os.path.isabs(filename) or not _under(project, filename):
            continue
        out.append(
            {
                "file": project_relpath(project, filename),
                "line": lineno,
                "function": frame.f_code.co_name,
                "source": linecache.getline(filename, lineno).strip(),
            }
        )
    return out


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles from the source every time: a .pyc is keyed by mtime (seconds) and size,
    so two saves within a second that keep the size would otherwise run old code."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


class PluginLoader(object):
    def __init__(self, project):
        self.project = os.path.realpath(project)
        self.src = os.path.join(self.project, "src")
        self._count = 0
        self._install_import_hook()

    # -- imports ----------------------------------------------------------
    def _install_import_hook(self):
        loaders = [
            (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
            (_SourceLoader, importlib.machinery.SOURCE_SUFFIXES),
        ]
        project = self.project

        def hook(path):
            if path and _under(project, path):
                return importlib.machinery.FileFinder(path, *loaders)
            raise ImportError("not a plugin project path")

        sys.path_hooks.insert(0, hook)
        for key in list(sys.path_importer_cache):
            if key and _under(project, key):
                del sys.path_importer_cache[key]
        while self.project in sys.path:
            sys.path.remove(self.project)
        sys.path.insert(0, self.project)

    def _rel(self, path):
        return project_relpath(self.project, path)

    def _is_project_module(self, name, module):
        f = getattr(module, "__file__", None)
        if f:
            return _under(self.project, f)
        return name == "src" or name.startswith("src.")

    def _project_modules(self):
        return {n: m for n, m in list(sys.modules.items()) if m is not None and self._is_project_module(n, m)}

    def _module_names(self):
        if not os.path.isdir(self.src):
            raise LoadError("import", "the plugin has no src/ directory", file="src")
        if os.path.isfile(os.path.join(self.src, "plugin.py")):
            return ["src.plugin"]
        names = sorted(
            "src." + f[:-3]
            for f in os.listdir(self.src)
            if f.endswith(".py") and f != "__init__.py" and f[:-3].isidentifier()
        )
        return names or ["src"]

    # -- errors -----------------------------------------------------------
    def _error(self, kind, exc):
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if isinstance(exc, SyntaxError) and exc.filename:
            msg = "%s: %s" % (type(exc).__name__, exc.msg)
            source = exc.text.rstrip("\r\n") if isinstance(exc.text, str) else None
            return LoadError("syntax", msg, self._rel(exc.filename), exc.lineno, exc.offset, detail, source=source, frames=[])
        frames = plugin_frames(self.project, exc.__traceback__)
        file = line = None
        if frames:
            file, line = frames[-1]["file"], frames[-1]["line"]
        text = str(exc)
        msg = "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__
        return LoadError(kind, msg, file, line, None, detail, frames=frames)

    # -- the plugin class ---------------------------------------------------
    def _find_class(self, modules):
        found = []
        for name in sorted(modules):
            module = modules[name]
            for value in list(vars(module).values()):
                if (
                    isinstance(value, type)
                    and issubclass(value, Plugin)
                    and value is not Plugin
                    and value.__module__ == name
                    and value not in found
                ):
                    found.append(value)
        leaves = [c for c in found if not any(o is not c and issubclass(o, c) for o in found)]
        if not leaves:
            raise LoadError(
                "class",
                "no class deriving from plexichat_plugin_sdk.Plugin was found in src/",
                file="src/plugin.py" if os.path.isfile(os.path.join(self.src, "plugin.py")) else "src",
            )
        if len(leaves) > 1:
            names = ", ".join("%s (%s)" % (c.__name__, self._rel(sys.modules[c.__module__].__file__)) for c in leaves)
            raise LoadError("class", "several Plugin classes were found: %s; keep one in src/" % names, file="src")
        return leaves[0]

    # -- loading --------------------------------------------------------------
    def check_manifest(self):
        """Standalone use (no manifest handed in): read config/plugin.yaml with the SDK's reader."""
        if os.environ.get(ENV_MANIFEST_JSON):
            return
        path = os.path.join(self.project, MANIFEST_RELPATH)
        try:
            load_manifest_file(path)
        except ManifestError as e:
            text = str(e)
            line = None
            marker = path + ":"
            if text.startswith(marker):
                head = text[len(marker):].split(":", 1)[0]
                line = int(head) if head.isdigit() else None
            raise LoadError("manifest", text.replace(self.project + os.sep, ""), "config/plugin.yaml", line)

    def load(self, manifest=None, carry=None):
        """A new Generation. ``manifest``: the manifest as a dict (the CLI parses the YAML and
        hands it over); None reads config/plugin.yaml. ``carry``: a Storage whose data the new
        generation starts with (--keep-state)."""
        started = time.perf_counter()
        if manifest is not None:
            os.environ[ENV_MANIFEST_JSON] = json.dumps(manifest)
        else:
            self.check_manifest()
        previous = self._project_modules()
        for name in previous:
            del sys.modules[name]
        importlib.invalidate_caches()
        linecache.checkcache()
        try:
            try:
                for name in self._module_names():
                    importlib.import_module(name)
            except LoadError:
                raise
            except SyntaxError as e:
                raise self._error("syntax", e)
            except BaseException as e:  # SystemExit at import time is a load failure too
                if isinstance(e, KeyboardInterrupt):
                    raise
                raise self._error("import", e)
            cls = self._find_class(self._project_modules())
            try:
                plugin = cls()
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt):
                    raise
                if isinstance(e, ManifestError):
                    raise LoadError("manifest", str(e), "config/plugin.yaml")
                raise self._error("init", e)
            if carry is not None and isinstance(getattr(plugin, "storage", None), Storage):
                for key in carry.keys():
                    plugin.storage.set(key, carry.get(key))
            harness = PluginTestHarness()
            try:
                harness.load_plugin(plugin)
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt):
                    raise
                raise self._error("init", e)
        except BaseException:
            for name in self._project_modules():
                del sys.modules[name]
            sys.modules.update(previous)
            raise
        self._count += 1
        return Generation(self._count, plugin, harness, started)
