"""Finding and loading a plugin's manifest (config/plugin.yaml).

Where the manifest comes from, in order:

1. ``PLEXICHAT_PLUGIN_MANIFEST_JSON``: set by ``plexichat-plugin-cli test``.
   Either the manifest itself as JSON text (it starts with ``{``) or the path
   of a JSON file holding it. The CLI parses config/plugin.yaml with a full
   YAML parser, so under ``test`` every YAML feature works. ``test`` starts
   pytest while it still reads the manifest, and writes that file before it
   says "go" on the pipe named by ``PLEXICHAT_PLUGIN_START_FD``
   (:func:`wait_for_cli`).
2. A class attribute ``manifest_path`` on the plugin class (a path to a
   plugin.yaml, relative paths taken from the current directory).
3. ``config/plugin.yaml`` in the directory of the module that defines the
   plugin class, or in the nearest parent directory that has one (so
   ``src/plugin.py`` finds ``../config/plugin.yaml``).
4. ``config/plugin.yaml`` below the current working directory.

Under ``plexichat-plugin test`` the CLI hands the manifest over already read
(1.), so nothing here parses YAML. A bare ``pytest`` run (2.-4.) reads
config/plugin.yaml with PyYAML (the SDK wheel's one dependency: ``pip install
PyYAML``, or Debian's python3-yaml); without it, loading says so and names
``plexichat-plugin test``.
"""
import copy
import inspect
import json
import os


__all__ = [
    "ENV_MANIFEST_JSON",
    "ManifestError",
    "ManifestNotFoundError",
    "find_manifest",
    "wait_for_cli",
    "load_manifest",
    "load_manifest_file",
]

ENV_MANIFEST_JSON = "PLEXICHAT_PLUGIN_MANIFEST_JSON"
#: The fd of a pipe on which ``plexichat-plugin-cli test`` says "go" once the manifest is written.
ENV_START_FD = "PLEXICHAT_PLUGIN_START_FD"
MANIFEST_RELPATH = os.path.join("config", "plugin.yaml")

_cache = {}

#: What to do when PyYAML is missing (one text for the error and the docs).
NO_PYYAML = (
    "reading config/plugin.yaml without the CLI needs PyYAML, which this Python (%s) cannot import; "
    "run the tests with 'plexichat-plugin test' (it reads the manifest itself), or install it: "
    "pip install PyYAML (Debian: sudo apt-get install -y python3-yaml)"
)


def _yaml_load(raw, path):
    """Parse YAML bytes with PyYAML's safe loader (the C one when built); ManifestError naming the line."""
    try:
        import yaml
    except ImportError:
        import sys

        raise ManifestError(NO_PYYAML % sys.executable)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(raw, Loader=loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = "%s:%d" % (path, line) if line else path
        problem = getattr(e, "problem", None) or str(e)
        raise ManifestError("%s: not valid YAML: %s" % (where, problem), line)


class ManifestError(ValueError):
    """The manifest exists but cannot be read; ``line`` is where, when known."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.line = line


class ManifestNotFoundError(ManifestError, FileNotFoundError):
    """No manifest was found anywhere the SDK looks."""


def wait_for_cli():
    """Under ``plexichat-plugin-cli test``: wait until the CLI has handed over the manifest.

    The CLI starts pytest first and reads config/plugin.yaml meanwhile (Python
    takes longer to start than the CLI takes to read it). The SDK's pytest
    plugin calls this on import, before any test code runs and before pytest
    prints anything; reading the manifest from ``$PLEXICHAT_PLUGIN_MANIFEST_JSON``
    calls it too. It reads the pipe named by ``$PLEXICHAT_PLUGIN_START_FD`` to
    its end: ``go`` lets the run go on; anything else means the CLI stopped
    the run (a manifest it cannot read, whose error it reports) or is gone,
    and this process ends at once, silently. Without that variable, or on a
    second call, it returns at once; the variable is removed, so processes the
    tests start do not wait.
    """
    value = os.environ.pop(ENV_START_FD, None)
    if value is None:
        return
    try:
        fd = int(value)
    except ValueError:
        return
    said = b""
    try:
        while len(said) < 16:
            chunk = os.read(fd, 16)
            if not chunk:
                break
            said += chunk
    except OSError:
        return  # not a pipe this process holds: nothing to wait for
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    if said != b"go":
        os._exit(1)


def _from_json_env(value):
    text = value.strip()
    source = "$" + ENV_MANIFEST_JSON
    if not text.startswith("{"):
        source = text
        wait_for_cli()
        try:
            with open(text, "r", encoding="utf-8") as fh:
                text = fh.read()
        except OSError as e:
            raise ManifestError("%s points at %s, which cannot be read: %s" % (ENV_MANIFEST_JSON, value, e))
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ManifestError("%s does not hold valid JSON (%s): %s" % (ENV_MANIFEST_JSON, source, e))
    if not isinstance(data, dict):
        raise ManifestError("the manifest in %s is not a mapping" % source)
    return data


def load_manifest_file(path):
    """Parse a plugin.yaml (or .json) file into a dict; cached by mtime."""
    path = os.path.abspath(path)
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        raise ManifestNotFoundError("manifest not found: %s" % path)
    hit = _cache.get(path)
    if hit and hit[0] == mtime:
        return copy.deepcopy(hit[1])
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        if path.endswith(".json"):
            data = json.loads(raw.decode("utf-8"))
        else:
            data = _yaml_load(raw, path)
    except ManifestError:
        raise
    except (UnicodeDecodeError, ValueError) as e:
        raise ManifestError("%s cannot be read: %s" % (path, e))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ManifestError("%s: the manifest must be a mapping with plugin:, metadata: ... blocks" % path)
    _cache[path] = (mtime, data)
    return copy.deepcopy(data)


def _search_up(start):
    d = os.path.abspath(start)
    while True:
        candidate = os.path.join(d, MANIFEST_RELPATH)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _defining_file(cls):
    """The source file of the module that defines cls (None when unknown)."""
    try:
        return inspect.getfile(cls)
    except (TypeError, OSError):
        pass
    # A module loaded without a sys.modules entry: ask its functions instead.
    for value in vars(cls).values():
        fn = getattr(value, "__func__", value)
        if callable(fn):
            fn = inspect.unwrap(fn)  # the SDK's decorators wrap handlers
        code = getattr(fn, "__code__", None)
        if code is not None and os.path.isfile(code.co_filename):
            return code.co_filename
    return None


def find_manifest(cls=None, environ=None):
    """Where the manifest for ``cls`` would be loaded from: ('json-env', value) or ('file', path)."""
    environ = os.environ if environ is None else environ
    value = environ.get(ENV_MANIFEST_JSON)
    if value:
        return "json-env", value
    looked = []
    explicit = getattr(cls, "manifest_path", None) if cls is not None else None
    if explicit:
        return "file", os.path.abspath(explicit)
    if cls is not None:
        module_file = _defining_file(cls)
        if module_file:
            found = _search_up(os.path.dirname(os.path.abspath(module_file)))
            if found:
                return "file", found
            looked.append("above " + os.path.dirname(os.path.abspath(module_file)))
    cwd_candidate = os.path.join(os.getcwd(), MANIFEST_RELPATH)
    if os.path.isfile(cwd_candidate):
        return "file", cwd_candidate
    looked.append(cwd_candidate)
    raise ManifestNotFoundError(
        "no config/plugin.yaml found (looked %s); run the tests from the plugin's root with "
        "'plexichat-plugin-cli test', set %s, or set manifest_path on the plugin class"
        % ("; ".join(looked), ENV_MANIFEST_JSON)
    )


def load_manifest(cls=None, environ=None):
    """The manifest (a dict) for a plugin class, found as described above."""
    kind, where = find_manifest(cls, environ)
    if kind == "json-env":
        return _from_json_env(where)
    return load_manifest_file(where)
