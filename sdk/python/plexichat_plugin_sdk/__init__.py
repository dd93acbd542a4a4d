"""plexichat_plugin_sdk: the parts of the PlexiChat plugin SDK that plugin code
and its tests use, shipped with plexichat-plugin-cli (and as a wheel: ``plexichat-plugin
sdk wheel``). Python 3.8+; a bare pytest reads config/plugin.yaml with PyYAML, and
``SecurityTestHarness`` encryption uses the ``cryptography`` package where installed. See docs/sdk.md in the plexichat-plugin-cli package."""
from . import plugin
from .manifest import ManifestError, ManifestNotFoundError, load_manifest
from .plugin import *  # noqa: F401,F403 -- the registration API, named once in plugin.__all__

__version__ = "0.1.0"

__all__ = ["ManifestError", "ManifestNotFoundError", "load_manifest"]
__all__ += plugin.__all__
