"""The SDK refuses to register a path that leaves /api/v1/ once normalised, in
both registration styles (the rule is src/core/endpoint.ts's; see _endpoint.py)."""
import pytest

from plexichat_plugin_sdk import Plugin, RegistrationError, endpoint, plugin_handlers
from yaml import safe_load as loads

from conftest import MANIFEST

ESCAPING = [
    "/api/v1/../../admin/users",
    "/api/v1/./x",
    "/api/v1/%2e%2e/admin",
    "/api/v1/x%2Fy",
    "/api/v1/x%5cy",
    "/api/v1/x\\y",
    "/api/v1//x",
    "/api/v1/x/",
    "/api/x",
]


@pytest.mark.parametrize("path", ESCAPING)
def test_the_decorator_refuses(path):
    with pytest.raises(ValueError, match=r"e\.g\. /api/v1/"):
        endpoint(path)


@pytest.mark.parametrize("path", ESCAPING)
def test_a_dict_key_is_refused(path):
    class Dicts(Plugin):
        def __init__(self):
            super().__init__(manifest=loads(MANIFEST))
            self.endpoints = {path: self.status}

        def status(self, request):
            return "ok"

    with pytest.raises(RegistrationError, match=r"Dicts\.endpoints: the key .* e\.g\. /api/v1/"):
        plugin_handlers(Dicts())


def test_good_paths_register():
    for path in ("/api/v1/x/status", "/api/v1/x/{id}", "/api/v1/.well-known", "/api/v1/v1.2/report"):
        endpoint(path)
