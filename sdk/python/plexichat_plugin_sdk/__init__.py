"""plexichat_plugin_sdk: the parts of the PlexiChat plugin SDK that plugin code
and its tests use, shipped with plexichat-plugin-cli. Python 3.8+, standard
library only. See docs/sdk.md in the plexichat-plugin-cli package."""
from .manifest import ManifestError, ManifestNotFoundError, load_manifest
from .plugin import Plugin, Request, Response, Storage, collect_handlers, endpoint, hook

__version__ = "0.1.0"

__all__ = [
    "ManifestError",
    "ManifestNotFoundError",
    "Plugin",
    "Request",
    "Response",
    "Storage",
    "collect_handlers",
    "endpoint",
    "hook",
    "load_manifest",
]
