"""The SDK's pytest plugin, run in a real pytest subprocess on a small plugin project."""
import json
import os
import textwrap

import pytest

from conftest import SDK

pytest_plugins = ["pytester"]

MANIFEST = """\
plugin:
  name: "demo_plugin"
  version: "1.0.0"
  author: "Tester"
  description: "A demo"
metadata:
  category: "utility"
permissions:
  required: [message_read]
hooks:
  - message_sent
  - user_login
  - schedule_tick
  - channel_leave
endpoints:
  - /api/v1/demo/status
  - /api/v1/demo/echo
"""

PLUGIN = '''
import asyncio
from plexichat_plugin_sdk import Plugin, endpoint, hook
from plexichat_plugin_sdk.security import require_permission

UNLOADED = []

class DemoPluginPlugin(Plugin):
    def __init__(self):
        super().__init__()
        self.seen = []
        self.ticks = 0

    def on_unload(self):
        UNLOADED.append(self)

    @hook("message_sent")
    async def on_message(self, message):
        await asyncio.sleep(0)
        self.seen.append(message["content"])

    @hook("user_login")
    def on_login(self, data):
        pass

    @hook("schedule_tick")
    def on_tick(self, payload):
        self.ticks += 1

    @endpoint("/api/v1/demo/status")
    @require_permission("message_read")
    def status(self, request):
        return {"seen": self.seen, "ticks": self.ticks, "user": request.user_id}

    @endpoint("/api/v1/demo/echo", methods=["POST"])
    def echo(self, request):
        return {"got": request.json()}
'''

TESTS = '''
from src import plugin as module

def test_plugin_is_an_instance(plugin):
    assert type(plugin).__name__ == "DemoPluginPlugin" and plugin.seen == []

def test_harness_and_client(harness, client):
    harness.emit("message_sent", {"content": "hi"})
    assert client(permissions=[]).get("/api/v1/demo/status").status == 403
    r = client(user_id="u1", permissions=["message_read"]).get("/api/v1/demo/status")
    assert (r.status, r.json()["seen"], r.json()["user"]) == (200, ["hi"], "u1")
    assert client().post("/api/v1/demo/echo", json={"a": 1}).json() == {"got": {"a": 1}}

def test_the_harness_was_closed_after_the_previous_test():
    assert len(module.UNLOADED) == 1

def test_clock_fires_schedule_tick(clock, client):
    clock.advance(minutes=5)
    assert client().get("/api/v1/demo/status").json()["ticks"] == 5

async def test_async_tests_run(harness):
    await harness.emit_async("message_sent", {"content": "async"})
    assert harness.plugin.seen == ["async"]
'''


def project(pytester, tests=TESTS, plugin=PLUGIN, manifest=MANIFEST, conftest=True):
    pytester.makefile(".yaml", **{"config/plugin": manifest})
    pytester.mkpydir("src")
    pytester.path.joinpath("src", "plugin.py").write_text(textwrap.dedent(plugin))
    pytester.mkpydir("tests")
    pytester.path.joinpath("tests", "test_demo.py").write_text(textwrap.dedent(tests))
    if conftest:
        pytester.makeconftest('pytest_plugins = ["plexichat_plugin_sdk.pytest_plugin"]\n')


@pytest.fixture(autouse=True)
def sdk_on_path(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", SDK)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the installed plugins only slow these runs down
    monkeypatch.delenv("PLEXICHAT_PLUGIN_COVERAGE_FILE", raising=False)
    monkeypatch.delenv("PLEXICHAT_PLUGIN_STRICT", raising=False)


def test_the_fixtures_work_through_the_conftest(pytester):
    project(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    # without the CLI, the coverage ends pytest's own summary
    result.stdout.fnmatch_lines([
        "*plexichat plugin coverage*",
        "hooks 2/4 exercised; never: user_login, channel_leave",
        "endpoints 2/2 exercised",
    ])


def test_the_coverage_file_names_what_never_ran(pytester, tmp_path, monkeypatch):
    project(pytester, tests="def test_one(harness):\n    harness.emit('user_login', {})\n")
    target = tmp_path / "coverage.json"
    monkeypatch.setenv("PLEXICHAT_PLUGIN_COVERAGE_FILE", str(target))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "plexichat plugin coverage" not in result.stdout.str()
    report = json.loads(target.read_text())
    assert report["version"] == 1
    assert report["hooks"] == {
        "declared": ["message_sent", "user_login", "schedule_tick", "channel_leave"],
        "exercised": ["user_login"],
        "never": ["message_sent", "schedule_tick", "channel_leave"],
        "undeclared": [],
    }
    assert report["endpoints"]["never"] == ["/api/v1/demo/status", "/api/v1/demo/echo"]
    assert report["lines"] == [
        "hooks 1/4 exercised; never: message_sent, schedule_tick, channel_leave",
        "endpoints 0/2 exercised; never: /api/v1/demo/status, /api/v1/demo/echo",
    ]
    assert not os.path.exists(str(target) + ".part")


def test_with_p_instead_of_a_conftest(pytester):
    project(pytester, conftest=False, tests="def test_one(plugin):\n    assert plugin.name == 'demo_plugin'\n")
    pytester.runpytest("-p", "no:cacheprovider", "-p", "plexichat_plugin_sdk.pytest_plugin") \
        .assert_outcomes(passed=1)


TWO_CLASSES = PLUGIN + '''
class HelperPlugin(Plugin):
    pass
'''


def test_among_several_classes_the_one_named_after_the_plugin_is_chosen(pytester):
    project(pytester, plugin=TWO_CLASSES, tests="def test_one(plugin):\n    assert type(plugin).__name__ == 'DemoPluginPlugin'\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_an_unclear_plugin_class_says_to_define_plugin_class(pytester):
    plugin = TWO_CLASSES.replace("DemoPluginPlugin", "Other")
    project(pytester, plugin=plugin, tests="def test_one(plugin):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*classes Other, HelperPlugin deriving from Plugin*define a plugin_class fixture*"])


def test_a_plugin_class_fixture_overrides_the_search(pytester):
    plugin = TWO_CLASSES.replace("DemoPluginPlugin", "Other")
    project(pytester, plugin=plugin, tests="def test_one(plugin):\n    assert type(plugin).__name__ == 'HelperPlugin'\n")
    pytester.path.joinpath("tests", "conftest.py").write_text(
        "import pytest\nfrom src.plugin import HelperPlugin\n\n"
        "@pytest.fixture\ndef plugin_class():\n    return HelperPlugin\n"
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_plexichat_strict_in_the_ini_makes_undeclared_permissions_errors(pytester):
    plugin = PLUGIN.replace('@require_permission("message_read")', '@require_permission("admin_access")')
    project(pytester, plugin=plugin, tests="def test_one(harness):\n    pass\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1, warnings=1)
    pytester.makeini("[pytest]\nplexichat_strict = true\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*UndeclaredPermissionError*status requires 'admin_access'*"])
