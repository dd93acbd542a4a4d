"""The SDK's pytest plugin: fixtures ``plugin``, ``harness``, ``client``, ``clock``
(and ``plugin_class``), ``async def`` tests, and hook/endpoint coverage.

``plexichat-plugin test`` loads it with ``-p plexichat_plugin_sdk.pytest_plugin``;
a bare ``pytest`` loads it through the ``conftest.py`` that ``init`` writes
(``pytest_plugins = ["plexichat_plugin_sdk.pytest_plugin"]``). See docs/sdk.md.

Coverage: at the end of the run, when ``$PLEXICHAT_PLUGIN_COVERAGE_FILE`` names a
file, the declared hooks and endpoints whose handlers ran are written there as
JSON (:func:`coverage_report`); without it, the same lines end pytest's summary.
"""
import importlib
import inspect
import json
import os
import sys

import pytest

from . import _events
from .manifest import wait_for_cli

# Under `plexichat-plugin test`, pytest starts while the CLI still reads the
# manifest: wait here, before any test code runs and before any output.
wait_for_cli()

__all__ = ["COVERAGE_ENV", "coverage_report", "find_plugin_class"]

#: The file the coverage report is written to (set by ``plexichat-plugin test``).
COVERAGE_ENV = "PLEXICHAT_PLUGIN_COVERAGE_FILE"
COVERAGE_VERSION = 1

_found = {}


def pytest_addoption(parser):
    parser.addini(
        "plexichat_strict",
        type="bool",
        default=False,
        help="plexichat_plugin_sdk: a permission required in code but not declared in the manifest "
        "is an error of the harness fixture (not a warning)",
    )


def plugin_root(config):
    """The folder holding config/plugin.yaml: from where pytest was started, or its rootdir, upwards."""
    from .manifest import MANIFEST_RELPATH, _search_up

    for start in (str(config.invocation_params.dir), str(config.rootpath)):
        found = _search_up(start)
        if found:
            return os.path.dirname(os.path.dirname(found))
    return None


def _project_manifest(root):
    from .manifest import ENV_MANIFEST_JSON, MANIFEST_RELPATH, load_manifest, load_manifest_file

    if os.environ.get(ENV_MANIFEST_JSON):
        return load_manifest()
    return load_manifest_file(os.path.join(root, MANIFEST_RELPATH))


def _class_name(plugin_name):
    return "".join(part.capitalize() for part in str(plugin_name).split("_") if part) + "Plugin"


def find_plugin_class(root):
    """The project's Plugin subclass: the one defined in src/plugin.py (else in another
    module of src/); among several, the one named after plugin.name
    (advanced_analytics -> AdvancedAnalyticsPlugin). LookupError when there is no clear one."""
    from .plugin import Plugin

    src = os.path.join(root, "src")
    if not os.path.isdir(src):
        raise LookupError("no src/ folder in %s to find the plugin class in" % root)
    if root not in sys.path:
        sys.path.insert(0, root)
    modules = sorted(f[:-3] for f in os.listdir(src) if f.endswith(".py") and not f.startswith("_"))
    if "plugin" in modules:
        modules.remove("plugin")
        modules.insert(0, "plugin")
    candidates = []
    for name in modules:
        module = importlib.import_module("src." + name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Plugin) and value is not Plugin
                    and value.__module__ == module.__name__ and value not in candidates):
                candidates.append(value)
        if candidates and name == "plugin":
            break
    if len(candidates) == 1:
        return candidates[0]
    expected = _class_name((_project_manifest(root).get("plugin") or {}).get("name"))
    named = [c for c in candidates if c.__name__ == expected]
    if len(named) == 1:
        return named[0]
    what = ("classes %s" % ", ".join(c.__name__ for c in candidates)) if candidates else "no class"
    raise LookupError(
        "src/ defines %s deriving from Plugin (expected one, or one named %s); define a plugin_class "
        "fixture in conftest.py that returns the class to test" % (what, expected)
    )


@pytest.fixture
def plugin_class(request):
    """The plugin class the ``plugin`` fixture instantiates (override it to choose)."""
    root = plugin_root(request.config)
    if root is None:
        pytest.fail("no config/plugin.yaml above %s: run the tests from the plugin's root"
                    % request.config.invocation_params.dir, pytrace=False)
    if root not in _found:
        try:
            _found[root] = find_plugin_class(root)
        except LookupError as e:
            pytest.fail(str(e), pytrace=False)
    return _found[root]


@pytest.fixture
def plugin(plugin_class):
    """A new instance of the project's plugin class."""
    return plugin_class()


@pytest.fixture
def harness(plugin, request):
    """A PluginTestHarness with ``plugin`` loaded; closed (on_unload) after the test."""
    from .testing import PluginTestHarness

    strict = True if request.config.getini("plexichat_strict") else None
    h = PluginTestHarness(strict=strict)
    h.load_plugin(plugin)
    yield h
    h.close()


@pytest.fixture
def client(harness):
    """``client(user_id=..., permissions=[...])`` -> a Client: ``.get(path)``, ``.post(path, json=...)``."""
    return harness.client


@pytest.fixture
def clock(harness):
    """A FakeClock installed as the SDK's time for the test; ``advance()`` fires scheduled hooks."""
    from . import clock as sdk_clock

    fake = sdk_clock.FakeClock(harness=harness)
    previous = sdk_clock.install(fake)
    yield fake
    sdk_clock.install(previous)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests on a new event loop, unless an async plugin (pytest-asyncio,
    anyio, trio) is there to do it."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    manager = pyfuncitem.config.pluginmanager
    if any(manager.hasplugin(name) for name in ("asyncio", "anyio", "trio")):
        return None
    import asyncio  # only for async tests: it is slow to import

    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**args))
    return True


def _section(declared, ran):
    declared = list(dict.fromkeys(n for n in declared if isinstance(n, str)))
    return {
        "declared": declared,
        "exercised": [n for n in declared if n in ran],
        "never": [n for n in declared if n not in ran],
        "undeclared": sorted(n for n in ran if n not in declared),
    }


def _line(kind, section):
    if not section["declared"]:
        return None
    text = "%s %d/%d exercised" % (kind, len(section["exercised"]), len(section["declared"]))
    if section["never"]:
        text += "; never: " + ", ".join(section["never"])
    return text


def coverage_report(manifest):
    """Which declared hooks and endpoints had a handler run, in this process so far."""
    manifest = manifest if isinstance(manifest, dict) else {}
    report = {
        "version": COVERAGE_VERSION,
        "hooks": _section(manifest.get("hooks") or [], set(_events.exercised_names("hooks"))),
        "endpoints": _section(manifest.get("endpoints") or [], set(_events.exercised_names("endpoints"))),
    }
    report["lines"] = [line for line in (_line("hooks", report["hooks"]), _line("endpoints", report["endpoints"]))
                       if line]
    return report


def _session_report(config):
    root = plugin_root(config)
    if root is None:
        return None
    try:
        return coverage_report(_project_manifest(root))
    except Exception:  # a broken manifest is reported by the tests that load it, and by validate
        return None


def pytest_sessionstart(session):
    _events.reset_coverage()


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get(COVERAGE_ENV)
    if not target:
        return
    report = _session_report(session.config)
    if report is None:
        return
    partial = target + ".part"
    with open(partial, "w", encoding="utf-8") as fh:
        json.dump(report, fh)
    os.replace(partial, target)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if os.environ.get(COVERAGE_ENV):
        return  # plexichat-plugin test prints it
    report = _session_report(config)
    if report and report["lines"]:
        terminalreporter.write_sep("-", "plexichat plugin coverage")
        for line in report["lines"]:
            terminalreporter.write_line(line)
