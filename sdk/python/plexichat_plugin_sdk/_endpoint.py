"""The endpoint rule: a path a plugin may serve stays under /api/v1/ however a
router or proxy reads it (no ``.``/``..`` segments, no percent-encoding, no
backslash, no empty segment, URL path characters only).

This is the CLI's rule (src/core/endpoint.ts, used by ``validate``, ``build``,
``verify`` and the marketplace), applied here when a plugin registers a path,
so ``plexichat-plugin test`` and ``dev`` refuse what the marketplace refuses.
The two are kept the same by a test that runs one case list through both and
requires the same reason and hint for every case: change both together.
"""
import re

PREFIX = "/api/v1/"
_EXAMPLE = PREFIX + "my_plugin/status"
_SEGMENT = re.compile(r"[A-Za-z0-9._~{}:@!$&'()*+,;=-]+")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_ENCODED = re.compile(r"%(25)*(2e|2f|5c)", re.IGNORECASE)
_ENCODED_ONCE = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)
_VERSION = re.compile(r"v[0-9]+")


def _suggestion(path):
    segs = [s for s in re.split(r"[/\\]+", _ENCODED_ONCE.sub("/", path))
            if s not in (".", "..") and _SEGMENT.fullmatch(s)]
    while segs and (segs[0] == "api" or _VERSION.fullmatch(segs[0])):
        segs.pop(0)
    return PREFIX + "/".join(segs) if segs else _EXAMPLE


def _segments(path):
    return path[len(PREFIX):].split("/")


# (applies, reason, hint) in order; the first that applies is reported.
_RULES = (
    (lambda p: _CONTROL.search(p) is not None,
     "has a space or control character",
     "write the path with URL path characters only, e.g. %s"),
    (lambda p: "\\" in p,
     "has a backslash, which some servers read as /",
     "separate segments with / only, e.g. %s"),
    (lambda p: _ENCODED.search(p) is not None,
     "has a percent-encoded dot, slash or backslash, which a server may decode into a path outside /api/v1/",
     "write the path without percent-encoding, e.g. %s"),
    (lambda p: any(s in (".", "..") for s in p.split("/")),
     "has a '.' or '..' segment, so it does not stay under %s once normalised" % PREFIX,
     "write the path without dot segments, e.g. %s"),
    (lambda p: not p.startswith(PREFIX),
     "is not an absolute path under %s" % PREFIX,
     "endpoints live under " + PREFIX + ", e.g. %s"),
    (lambda p: "" in _segments(p),
     "has an empty segment ('//' or a trailing slash)",
     "write one / between segments and none at the end, e.g. %s"),
    (lambda p: "%" in p,
     "has percent-encoding",
     "write the path with plain URL path characters, e.g. %s"),
    (lambda p: not all(_SEGMENT.fullmatch(s) for s in _segments(p)),
     "has characters that are not URL path characters",
     "use letters, digits and - . _ ~ { } : @ ! $ & ' ( ) * + , ; = only, e.g. %s"),
)


def endpoint_problem(path):
    """``(reason, hint)`` when ``path`` is not an endpoint a plugin may serve, else None."""
    if path == "":
        return ("is empty", "write a path such as %s" % _EXAMPLE)
    for applies, reason, hint in _RULES:
        if applies(path):
            return (reason, hint % _suggestion(path))
    return None
