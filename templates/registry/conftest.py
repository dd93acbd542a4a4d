"""Loads the plexichat_plugin_sdk pytest plugin: the fixtures plugin, harness, client
and clock, and the hook/endpoint coverage at the end of a run. `plexichat-plugin test`
loads it by itself; this file lets a bare `python3 -m pytest` do the same."""
try:
    import plexichat_plugin_sdk  # noqa: F401
except ImportError as e:
    raise ImportError(
        "plexichat_plugin_sdk is not importable: run the tests with `plexichat-plugin test`, or put the "
        "SDK on the path: PYTHONPATH=\"$(npm root -g)/plexichat-plugin-cli/sdk/python\" python3 -m pytest, or "
        "install it in this plugin's venv: plexichat-plugin sdk wheel (docs/sdk.md)"
    ) from e

pytest_plugins = ["plexichat_plugin_sdk.pytest_plugin"]
