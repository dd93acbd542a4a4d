import os
import sys

import pytest

# The SDK under test: sdk/python in this repository.
SDK = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "sdk", "python"))
if SDK not in sys.path:
    sys.path.insert(0, SDK)

MANIFEST = """\
plugin:
  name: "demo_plugin"
  version: "1.2.3"
  author: "Tester"
  description: "A demo"
metadata:
  category: "utility"
permissions:
  required: [message_read]
  optional:
    - admin_access
resources:
  limits:
    cpu: "500m"
    memory: "1Gi"
hooks:
  - message_sent
endpoints:
  - /api/v1/demo/status
settings:
  greeting: "hi"
  limit: 3
"""


@pytest.fixture(autouse=True)
def no_manifest_env(monkeypatch):
    monkeypatch.delenv("PLEXICHAT_PLUGIN_MANIFEST_JSON", raising=False)


@pytest.fixture
def manifest_dict():
    from yaml import safe_load as loads

    return loads(MANIFEST)
