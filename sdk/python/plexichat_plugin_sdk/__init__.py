"""plexichat_plugin_sdk: the parts of the PlexiChat plugin SDK that plugin code
and its tests use, shipped with plexichat-plugin-cli. Python 3.8+, standard
library only (``SecurityTestHarness`` encryption uses the ``cryptography``
package where installed). See docs/sdk.md in the plexichat-plugin-cli package."""
from .manifest import ManifestError, ManifestNotFoundError, load_manifest
from .plugin import (
    Plugin,
    RegistrationError,
    Request,
    Response,
    Storage,
    StorageUnavailableError,
    collect_handlers,
    endpoint,
    hook,
    plugin_handlers,
)

__version__ = "0.1.0"

__all__ = [
    "ManifestError",
    "ManifestNotFoundError",
    "Plugin",
    "RegistrationError",
    "Request",
    "Response",
    "Storage",
    "StorageUnavailableError",
    "collect_handlers",
    "endpoint",
    "hook",
    "load_manifest",
    "plugin_handlers",
]
