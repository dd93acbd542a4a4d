import importlib.util
import json
import os
import sys

import pytest

from plexichat_plugin_sdk import ManifestError, ManifestNotFoundError, Plugin, collect_handlers, endpoint, hook
from plexichat_plugin_sdk.manifest import ENV_MANIFEST_JSON

from conftest import MANIFEST


def write_plugin_project(root, manifest=MANIFEST, module="demo_mod"):
    (root / "config").mkdir()
    (root / "config" / "plugin.yaml").write_text(manifest)
    (root / "src").mkdir()
    source = (
        "from plexichat_plugin_sdk import Plugin, hook\n"
        "class Demo(Plugin):\n"
        "    @hook('message_sent')\n"
        "    def on_message(self, m):\n"
        "        return m\n"
    )
    (root / "src" / (module + ".py")).write_text(source)
    spec = importlib.util.spec_from_file_location(module, str(root / "src" / (module + ".py")))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Demo


def test_finds_config_plugin_yaml_above_the_module(tmp_path):
    Demo = write_plugin_project(tmp_path)
    p = Demo()
    assert (p.name, p.version, p.author, p.description, p.category) == ("demo_plugin", "1.2.3", "Tester", "A demo", "utility")
    assert p.settings == {"greeting": "hi", "limit": 3}
    assert p.required_permissions == ["message_read"]
    assert p.optional_permissions == ["admin_access"]
    assert p.declared_permissions == ["message_read", "admin_access"]
    assert p.declared_hooks == ["message_sent"]
    assert p.declared_endpoints == ["/api/v1/demo/status"]


def test_instances_do_not_share_settings(tmp_path):
    Demo = write_plugin_project(tmp_path)
    a, b = Demo(), Demo()
    a.settings["greeting"] = "changed"
    assert b.settings["greeting"] == "hi"


def test_json_from_the_environment_wins(tmp_path, monkeypatch):
    Demo = write_plugin_project(tmp_path)
    monkeypatch.setenv(ENV_MANIFEST_JSON, json.dumps({"plugin": {"name": "from_env", "version": "9.9.9"}}))
    assert Demo().name == "from_env"
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"plugin": {"name": "from_file", "version": "1.0.0"}}))
    monkeypatch.setenv(ENV_MANIFEST_JSON, str(f))
    assert Demo().name == "from_file"


def test_bad_json_in_the_environment(tmp_path, monkeypatch):
    Demo = write_plugin_project(tmp_path)
    monkeypatch.setenv(ENV_MANIFEST_JSON, "{not json")
    with pytest.raises(ManifestError, match="valid JSON"):
        Demo()
    monkeypatch.setenv(ENV_MANIFEST_JSON, str(tmp_path / "missing.json"))
    with pytest.raises(ManifestError, match="cannot be read"):
        Demo()


def test_manifest_path_attribute_and_explicit_manifest(tmp_path):
    f = tmp_path / "elsewhere.yaml"
    f.write_text("plugin:\n  name: elsewhere\n  version: 2.0.0\n")

    class Explicit(Plugin):
        manifest_path = str(f)

    assert Explicit().name == "elsewhere"
    assert Plugin(manifest={"plugin": {"name": "given", "version": 1}}).version == "1"


def test_no_manifest_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "lonely.py"
    src.write_text("from plexichat_plugin_sdk import Plugin\nclass Lonely(Plugin):\n    pass\n")
    spec = importlib.util.spec_from_file_location("lonely", str(src))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with pytest.raises(ManifestNotFoundError, match="no config/plugin.yaml found"):
        mod.Lonely()
    with pytest.raises(FileNotFoundError):
        mod.Lonely()


def test_invalid_yaml_names_file_and_line(tmp_path):
    Demo = write_plugin_project(tmp_path, manifest="plugin:\n  name: x\n  description: \"open\n  version: 1\n")
    with pytest.raises(ManifestError) as info:
        Demo()
    assert "plugin.yaml:" in str(info.value)
    assert "not valid YAML" in str(info.value)
    assert info.value.line is not None


def test_full_yaml_is_read_with_pyyaml(tmp_path):
    text = MANIFEST + "notes: |\n  two\n  lines\nanchors:\n  a: &x {k: 1}\n  b: *x\n"
    Demo = write_plugin_project(tmp_path, manifest=text)
    assert Demo().manifest["notes"] == "two\nlines\n"
    assert Demo().manifest["anchors"]["b"] == {"k": 1}


def test_without_pyyaml_the_error_names_the_cli_and_the_install(tmp_path, monkeypatch):
    Demo = write_plugin_project(tmp_path)
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml raises ImportError
    with pytest.raises(ManifestError) as info:
        Demo()
    assert "plexichat-plugin test" in str(info.value)
    assert "pip install PyYAML" in str(info.value)
    assert "python3-yaml" in str(info.value)


def test_a_manifest_that_is_a_list(tmp_path):
    Demo = write_plugin_project(tmp_path, manifest="- a\n- b\n")
    with pytest.raises(ManifestError, match="must be a mapping"):
        Demo()


def test_handlers_are_collected_with_inheritance_and_overrides():
    class Base(Plugin):
        @hook("user_login")
        def login(self, d):
            return "base"

        @hook("message_sent")
        def msg(self, d):
            return "msg"

        @endpoint("/api/v1/x/a", methods=["get", "POST"])
        def a(self, r):
            return {}

    class Child(Base):
        @hook("user_login")
        def login(self, d):
            return "child"

        msg = None  # no longer a handler

    hooks, endpoints = collect_handlers(Child)
    assert hooks == {"user_login": ["login"]}
    assert endpoints == {"/api/v1/x/a": ("a", ("GET", "POST"))}


def test_one_path_twice_is_an_error():
    class Twice(Plugin):
        @endpoint("/api/v1/x/a")
        def one(self, r):
            return 1

        @endpoint("/api/v1/x/a")
        def two(self, r):
            return 2

    with pytest.raises(ValueError, match="registered twice"):
        collect_handlers(Twice)


@pytest.mark.parametrize("bad", ["", "User Login", None, 3])
def test_bad_hook_names(bad):
    with pytest.raises(ValueError):
        hook(bad)


def test_bad_endpoints():
    with pytest.raises(ValueError):
        endpoint("api/v1/no-slash")
    with pytest.raises(ValueError):
        endpoint("/api/v1/x", methods=["FETCH"])
