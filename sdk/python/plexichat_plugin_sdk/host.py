"""The plugin host: serve a plugin project over HTTP, as the platform would.

    python3 -m plexichat_plugin_sdk.host --project <dir> [--host 127.0.0.1] [--port 0]
        [--allow-remote | --auth-secret-file FILE] [--no-reload] [--no-console] [--keep-state]
        [--user ID] [--permissions a,b] [--allow-host NAME ...] [--control stdin|fd:N]

Used by ``plexichat-plugin dev`` (which watches the files and tells the host
when to reload) and as the entry point of a plugin's container. Standard
library only. The contract (routes, events, metrics) is in docs/dev.md:

* stdout: one JSON object per line; the first ``{"event": "ready", "url": ...,
  "port": ...}`` once the socket listens (a ``{"event": "fatal"}`` line and exit 1
  when it cannot);
* ``GET /healthz``: 200 ``{"status": "ok", "plugin": name, "version": v}``, 503 while
  no version of the plugin is loaded;
* ``GET /metrics``: Prometheus text format (see host_metrics.py);
* the plugin's endpoints; ``POST /hooks/<hook>`` delivers a hook event;
* unless --no-console: the dev console at ``/__dev/`` and its API
  (``/__dev/api/info``, ``/__dev/events``, ``/__dev/hooks/<hook>``, ``/__dev/reload``).

SIGINT/SIGTERM (or the end of the control channel with ``--control``) stop it: exit 0.
"""
import argparse
import difflib
import ipaddress
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from .host_auth import AuthError, RequestVerifier, load_secret
from .host_events import capture_output
from .host_loader import LoadError, PluginLoader, plugin_frames, project_relpath
from .host_metrics import UNMATCHED, HostMetrics
from .host_net import HostNames, is_loopback
from .host_procs import descendants, end_in_background, end_processes, own_processes
from .host_samples import SAMPLE_PAYLOADS, sample_payload

__all__ = ["Host", "main"]

USER_HEADER = "X-PlexiChat-User"
PERMISSIONS_HEADER = "X-PlexiChat-Permissions"
DEFAULT_USER = "dev_user"
MAX_BODY_BYTES = 1024 * 1024
CONSOLE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "host_console.html")
_SSE_KEEPALIVE_SECONDS = 15.0
#: What _read_body gives for a request without a body (a JSON ``null`` body is None).
NO_BODY = object()


def _peer_is_loopback(address):
    """Whether a connected peer is this machine (an IPv4-mapped ::ffff:127.x counts)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def parse_permissions(text):
    """'a, b,,c' -> ['a', 'b', 'c']; '' -> [] (no permission at all)."""
    return [p.strip() for p in text.split(",") if p.strip()]


def _json_safe(value):
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _rss_mb():
    """Resident memory of this process in MiB (None where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Host(object):
    """The plugin being served, its reloads, hook delivery and endpoint dispatch."""

    def __init__(self, options, bus, metrics=None):
        self.options = options
        self.bus = bus
        self.metrics = metrics or HostMetrics()
        self.loader = PluginLoader(options.project)
        self.generation = None
        #: The last LoadError (or rejection) when nothing is loaded or the last reload failed.
        self.failure = None
        #: What the CLI's validation found last (the console draws them; errors as errors).
        self.diagnostics = []
        self._reload_lock = threading.Lock()

    def relpath(self, path):
        return project_relpath(self.loader.project, path)

    # -- loading ---------------------------------------------------------------
    def load(self, manifest=None, changed=None, initial=False, diagnostics=None):
        """Load (or reload) the plugin; True when the new version now serves. ``diagnostics``:
        what the CLI's validation found (warnings), reported with the outcome."""
        with self._reload_lock:
            started = time.perf_counter()
            old = self.generation
            carry = old.plugin.storage if (old is not None and self.options.keep_state) else None
            # What runs before the load was started by the version serving now (or earlier).
            before = set(descendants()) if not initial else None
            try:
                gen = self.loader.load(manifest, carry)
            except LoadError as e:
                if before is not None:
                    # What the failed version started before it failed goes; the old one's stays.
                    end_in_background(set(descendants()) - before)
                self.failure = e.to_dict()
                self.metrics.error("load")
                # One event says it all: the user's file:line, the offending line, the plugin's own
                # frames; the whole traceback rides along for `dev --verbose` only.
                extra = {"traceback": e.detail.rstrip()} if e.detail else {}
                self.bus.emit(
                    "reload_failed",
                    initial=initial,
                    error=e.to_dict(),
                    diagnostics=list(diagnostics or []),
                    changed=list(changed or []),
                    serving=self._serving(),
                    **extra
                )
                return False
            self.generation = gen
            self.failure = None
            self.metrics.set_serving(gen.name, gen.version)
            if old is not None:
                err = old.close()
                if err is not None:
                    self.bus.emit("log", level="warning", logger="host", message="on_unload of the previous version failed: %r" % (err,))
            if before:
                # The previous version's processes end with it (SIGTERM, SIGKILL after 0.5 s): they
                # would otherwise hold its port and run its old code.
                end_in_background(before)
            if not initial:
                doc = gen.describe()
                doc.update(
                    changed=list(changed or []),
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    kept_state=carry is not None,
                    diagnostics=list(diagnostics or []),
                )
                self.bus.emit("reloaded", **doc)
            return True

    def reject(self, event):
        """The CLI found errors (e.g. in the manifest) before loading and reported them itself:
        remember the failure and show the CLI's reload_failed event in the console (not on stdout:
        the CLI owns its own event stream)."""
        self.failure = event.get("error") or {"kind": "validation", "message": "rejected"}
        self.diagnostics = list(event.get("diagnostics") or [])
        self.bus.publish(dict(event, serving=self._serving()))

    def validated(self, event):
        """The CLI's full validation of what now serves (its validated event): kept for the
        console's findings, and shown in its live log; the CLI printed it already."""
        self.diagnostics = list(event.get("diagnostics") or [])
        self.bus.publish(event)

    def _serving(self):
        gen = self.generation
        return None if gen is None else {"plugin": gen.name, "version": gen.version, "generation": gen.number}

    # -- identity ----------------------------------------------------------------
    def identity(self, headers, gen, trust="headers"):
        """The caller: ``trust`` is "signed" (the platform signed the headers: they are all
        there is, an absent permissions header means none), "headers" (a loopback caller of a
        host without a secret: dev) or "default" (a remote caller of a host without a secret:
        its identity headers are ignored, it is the --user/--permissions caller)."""
        if trust == "signed":
            perms_header = headers.get(PERMISSIONS_HEADER)
            return headers.get(USER_HEADER) or None, parse_permissions(perms_header) if perms_header is not None else []
        if trust != "headers":
            headers = {}
        user = headers.get(USER_HEADER)
        if user is None:
            user = self.options.user or DEFAULT_USER
        perms_header = headers.get(PERMISSIONS_HEADER)
        if perms_header is not None:
            permissions = parse_permissions(perms_header)
        elif self.options.permissions is not None:
            permissions = parse_permissions(self.options.permissions)
        else:
            permissions = list(gen.plugin.declared_permissions) if gen is not None else []
        return user, permissions

    def default_identity(self):
        return self.identity({}, self.generation)

    # -- hooks -------------------------------------------------------------------
    def fire_hook(self, name, payload):
        """(status, body) for delivering hook ``name``."""
        gen = self.generation
        if gen is None:
            return 503, self._not_loaded()
        if name not in gen.hooks:
            candidates = sorted(set(SAMPLE_PAYLOADS) | set(gen.hooks))
            near = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
            if name in SAMPLE_PAYLOADS:
                body = {
                    "error": "no_handler",
                    "message": "the plugin has no handler for hook '%s'" % name,
                    "handled": list(gen.hooks),
                }
            else:
                hint = "; did you mean %s?" % " or ".join("'%s'" % n for n in near) if near else ""
                body = {"error": "unknown_hook", "message": "unknown hook '%s'%s" % (name, hint)}
            body["near"] = near
            return 404, body
        started = time.perf_counter()
        if isinstance(payload, dict):
            self.metrics.saw_user(payload.get("user_id"))
        try:
            results = gen.harness.emit(name, payload)
        except Exception as e:
            ms = round((time.perf_counter() - started) * 1000, 2)
            self.metrics.error("hook")
            self.metrics.hook_call(name)
            where = self._where(e)
            self._log_exception("hook %s failed" % name, e)
            error = {"type": type(e).__name__, "message": str(e)}
            error.update(where)
            self.bus.emit("hook", hook=name, status="error", duration_ms=ms, error=error)
            return 500, {"error": "hook_failed", "hook": name, "message": "%s: %s" % (type(e).__name__, e), "exception": error}
        ms = round((time.perf_counter() - started) * 1000, 2)
        self.metrics.hook_call(name)
        self.bus.emit("hook", hook=name, status="ok", handlers=len(results), duration_ms=ms)
        return 200, {"hook": name, "handlers": len(results), "results": [_json_safe(r) for r in results]}

    def _log_exception(self, what, exc):
        """An error log event with the plugin's own frames only (the whole traceback in
        ``traceback``, which ``dev`` shows with --verbose)."""
        lines = [what + ":"]
        for f in plugin_frames(self.loader.project, exc.__traceback__):
            lines.append("  %s:%s in %s" % (f["file"], f["line"], f["function"]))
            if f["source"]:
                lines.append("    " + f["source"])
        text = str(exc)
        lines.append("%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__)
        self.bus.emit(
            "log",
            level="error",
            logger="host",
            message="\n".join(lines),
            traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip(),
        )

    def _where(self, exc):
        out = {}
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            filename = frame.f_code.co_filename
            rel = self.relpath(filename) if os.path.isabs(filename) else None
            if rel and not os.path.isabs(rel):
                out = {"file": rel, "line": lineno}
        return out

    def _not_loaded(self):
        body = {"error": "plugin_not_loaded", "message": "the plugin failed to load; fix it and save"}
        if self.failure:
            body["failure"] = self.failure
        return body

    # -- endpoints ----------------------------------------------------------------
    def call_endpoint(self, method, path, query, headers, body, trust="headers"):
        """(status, body, extra headers) for an endpoint call."""
        gen = self.generation
        started = time.perf_counter()
        user = None
        if gen is None:
            status, out, extra, label = 503, self._not_loaded(), {}, UNMATCHED
        else:
            user, permissions = self.identity(headers, gen, trust)
            self.metrics.saw_user(user)
            rss = _rss_mb()
            if rss is not None:
                gen.harness.simulate_resource_usage(memory_mb=rss)
            resp = gen.harness.call_endpoint(
                path,
                user_permissions=permissions,
                user_id=user,
                method=method,
                body=body,
                headers=dict(headers.items()),
                query=query,
            )
            status, out, extra = resp.status_code, resp.json(), dict(resp.headers)
            label = path if path in gen.endpoints else UNMATCHED
            if status == 503 and isinstance(out, dict) and out.get("error") == "resource_limit_exceeded":
                self.metrics.error("resource_limit")
            elif status >= 500 and resp.exception is not None:
                self.metrics.error("endpoint")
                self._log_exception("%s %s raised" % (method, path), resp.exception)
        seconds = time.perf_counter() - started
        self.metrics.api_call(label, method, status, seconds)
        self.bus.emit(
            "request",
            method=method,
            path=path,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            user=user,
        )
        return status, out, extra

    # -- the console's view ---------------------------------------------------------
    def info(self):
        gen = self.generation
        user, permissions = self.default_identity()
        doc = {
            "loaded": gen is not None,
            "failure": self.failure,
            "diagnostics": list(self.diagnostics),
            "reload": not self.options.no_reload,
            "defaults": {"user": user, "permissions": permissions},
            "headers": {"user": USER_HEADER, "permissions": PERMISSIONS_HEADER},
        }
        if gen is None:
            doc.update(plugin=None, version=None, generation=None, hooks=[], endpoints=[], permissions=[])
            return doc
        declared_hooks = [h for h in (gen.plugin.declared_hooks or []) if isinstance(h, str)]
        hooks = []
        for name in sorted(set(gen.hooks) | set(declared_hooks)):
            hooks.append(
                {"name": name, "handled": name in gen.hooks, "declared": name in declared_hooks, "sample": sample_payload(name)}
            )
        declared_endpoints = [e for e in (gen.plugin.declared_endpoints or []) if isinstance(e, str)]
        endpoints = [
            {"path": p, "methods": list(m), "declared": p in declared_endpoints, "handled": True}
            for p, m in gen.endpoints.items()
        ]
        for p in sorted(set(declared_endpoints) - set(gen.endpoints)):
            endpoints.append({"path": p, "methods": [], "declared": True, "handled": False})
        doc.update(
            plugin=gen.name,
            version=gen.version,
            generation=gen.number,
            hooks=hooks,
            endpoints=endpoints,
            permissions=list(gen.plugin.declared_permissions),
        )
        return doc


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle's algorithm on, the body
    # waits for the client's delayed ACK (~40 ms on Linux) on a keep-alive connection.
    disable_nagle_algorithm = True
    def version_string(self):
        return "plexichat-plugin-host"

    # -- plumbing --------------------------------------------------------------------
    def log_message(self, format, *args):  # the host reports requests as events instead
        pass

    @property
    def host(self):
        return self.server.host

    def _send(self, status, body=None, headers=None, content_type="application/json"):
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif content_type == "application/json":
            data = (json.dumps(body, ensure_ascii=False) + "\n").encode("utf-8") if body is not None else b""
        else:
            data = str(body).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type + ("; charset=utf-8" if "charset" not in content_type and not content_type.startswith("image/") else ""))
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in (headers or {}).items():
                name, value = str(name), str(value)
                if "\r" in name + value or "\n" in name + value or name.lower() in ("content-length", "content-type"):
                    continue
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_raw(self):
        """(ok, body bytes), read once. Answers 411/400/413 itself when not ok."""
        if getattr(self, "_raw_body", None) is not None:
            return True, self._raw_body
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._send(411, {"error": "length_required", "message": "send the body with a Content-Length"})
            self.close_connection = True
            return False, None
        try:
            n = int(length) if length else 0
        except ValueError:
            n = -1
        if n < 0:
            self._send(400, {"error": "bad_request", "message": "invalid Content-Length"})
            self.close_connection = True
            return False, None
        if n > MAX_BODY_BYTES:
            self._send(413, {"error": "payload_too_large", "message": "the body is larger than %d bytes" % MAX_BODY_BYTES})
            self.close_connection = True
            return False, None
        self._raw_body = raw = self.rfile.read(n) if n else b""
        return True, raw

    def _read_body(self):
        """(ok, parsed JSON, or NO_BODY when there is none; a JSON null is None). Answers 400/411/413 itself when not ok."""
        ok, raw = self._read_raw()
        if not ok:
            return False, None
        if not raw.strip():
            return True, NO_BODY
        try:
            return True, json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self._send(400, {"error": "bad_request", "message": "the body is not valid JSON: %s" % e})
            return False, None

    def _allowed(self):
        """Refuse foreign Host headers (DNS rebinding) and cross-site browser requests: the
        host has no authentication of its own. The Host rule is in host_net.py; it holds on
        every address (0.0.0.0 with --allow-remote too), except with --no-console on a
        non-loopback address without --allow-host (a container: see docs/dev.md)."""
        host = (self.headers.get("Host") or "").strip().lower()
        if self.server.check_host and host and not self.server.names.allows(host):
            shown = host.encode("ascii", "backslashreplace").decode("ascii")[:200] or "(none)"
            self._send(
                403,
                {
                    "error": "forbidden_host",
                    "message": "Host %s is not this server; add --allow-host NAME to answer requests made to that name" % shown,
                },
            )
            return False
        origin = self.headers.get("Origin")
        if origin == "null":
            self._send(403, {"error": "forbidden_origin", "message": "requests from an opaque origin are not allowed"})
            return False
        if origin is not None and origin.lower() not in self.server.origins and origin.lower() != "http://" + host:
            self._send(403, {"error": "forbidden_origin", "message": "requests from %s are not allowed" % origin})
            return False
        return True

    # -- routing -------------------------------------------------------------------------
    def _trust(self):
        """How far the caller's identity headers are believed ("signed", "headers" or
        "default", see Host.identity), or None once a refusal was sent (401: not signed
        as the platform signs, with a secret). host_auth.py has the scheme."""
        verifier = self.server.verifier
        if verifier is None:
            return "headers" if _peer_is_loopback(self.client_address[0]) else "default"
        ok, raw = self._read_raw()
        if not ok:
            return None
        try:
            verifier.verify(self.command, self.path, self.headers, raw)
        except AuthError as e:
            self.close_connection = True
            self._send(e.status, {"error": e.code, "message": e.message}, {"WWW-Authenticate": "PlexiChat-HMAC-SHA256"} if e.status == 401 else None)
            return None
        return "signed"

    def _dispatch(self):
        self._raw_body = None
        if not self._allowed():
            return
        url = urlsplit(self.path)
        path = url.path
        method = self.command
        host = self.host
        opts = host.options
        if path == "/healthz" and method in ("GET", "HEAD"):
            gen = host.generation
            if gen is None:
                return self._send(503, {"status": "unavailable", "plugin": None, "version": None, "failure": host.failure})
            return self._send(200, {"status": "ok", "plugin": gen.name, "version": gen.version})
        if path == "/metrics" and method in ("GET", "HEAD"):
            return self._send(200, host.metrics.render(), content_type="text/plain; version=0.0.4")
        # Everything else is the platform's to call: signed, with a secret.
        trust = self._trust()
        if trust is None:
            return
        if path.startswith("/hooks/") and method == "POST":
            return self._hook(unquote(path[len("/hooks/"):]), dev=False)
        if path == "/__dev" or path.startswith("/__dev/"):
            if opts.no_console:
                return self._send(404, {"error": "not_found", "message": "the dev console is off (--no-console)"})
            return self._dev(path, method)
        ok, body = self._read_body()
        if not ok:
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        status, out, extra = host.call_endpoint(method, path, query, self.headers, None if body is NO_BODY else body, trust)
        self._send(status, out, extra)

    def _hook(self, name, dev):
        ok, payload = self._read_body()
        if not ok:
            return
        # Only a request without a body gets the sample (or {}); a JSON null is a payload too.
        if payload is NO_BODY:
            payload = sample_payload(name) if dev else {}
        status, out = self.host.fire_hook(name, payload)
        self._send(status, out)

    def _dev(self, path, method):
        host = self.host
        if path in ("/__dev", "/__dev/") and method in ("GET", "HEAD"):
            if path == "/__dev":
                return self._send(308, {"location": "/__dev/"}, {"Location": "/__dev/"})
            try:
                with open(CONSOLE_FILE, "rb") as fh:
                    page = fh.read()
            except OSError as e:
                return self._send(500, {"error": "console_missing", "message": str(e)})
            return self._send(
                200,
                page,
                {"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"},
                content_type="text/html",
            )
        if path == "/__dev/api/info" and method in ("GET", "HEAD"):
            return self._send(200, host.info())
        if path == "/__dev/events" and method == "GET":
            return self._events()
        if path.startswith("/__dev/hooks/") and method == "POST":
            return self._hook(unquote(path[len("/__dev/hooks/"):]), dev=True)
        if path == "/__dev/reload" and method == "POST":
            ok, _ = self._read_body()
            if not ok:
                return
            if host.options.no_reload:
                return self._send(409, {"error": "reload_disabled", "message": "the host runs with --no-reload"})
            if host.options.control:
                return self._send(409, {"error": "reload_follows_saves", "message": "plexichat-plugin dev reloads when a file is saved"})
            if host.load(changed=["(requested over HTTP)"]):
                return self._send(200, {"reloaded": True, "serving": host._serving()})
            return self._send(422, {"reloaded": False, "error": host.failure, "serving": host._serving()})
        return self._send(404, {"error": "not_found", "message": "no dev route %s %s" % (method, path)})

    def _events(self):
        """Server-sent events: the history, then every new event, until the client leaves."""
        q, history = self.host.bus.subscribe()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for line in history:
                self.wfile.write(("data: %s\n\n" % line).encode("utf-8"))
            self.wfile.flush()
            while not self.server.stopping.is_set():
                try:
                    line = q.get(timeout=_SSE_KEEPALIVE_SECONDS)
                    chunk = "data: %s\n\n" % line
                except queue.Empty:
                    chunk = ": keep-alive\n\n"
                self.wfile.write(chunk.encode("utf-8"))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            self.host.bus.unsubscribe(q)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, host_obj, stopping, allowed_hosts=(), check_host=True):
        family_v6 = ":" in address[0]
        if family_v6:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.host = host_obj
        self.stopping = stopping
        bound_host = address[0]
        port = self.server_address[1]
        self.loopback = is_loopback(bound_host)
        secret = getattr(host_obj.options, "auth_secret", None)
        self.verifier = RequestVerifier(secret) if secret else None
        self.names = HostNames(bound_host, allowed_hosts)
        self.check_host = check_host
        shown = "[%s]" % bound_host if family_v6 else bound_host
        names = {"%s:%d" % (shown, port), "localhost:%d" % port, "127.0.0.1:%d" % port, "[::1]:%d" % port}
        self.origins = {"http://%s" % n.lower() for n in names}


def _parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m plexichat_plugin_sdk.host", description="Serve a PlexiChat plugin project over HTTP.")
    p.add_argument("--project", required=True, help="the plugin project (the folder with config/plugin.yaml and src/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    p.add_argument("--allow-remote", action="store_true", help="allow a --host that is not loopback without --auth-secret-file (no authentication: remote callers' identity headers are ignored)")
    p.add_argument("--auth-secret-file", default=None, help="believe a caller's identity only from requests the platform signed with the secret in this file (a deployed plugin; docs/sdk.md)")
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host header is NAME (repeatable); other names are refused (DNS rebinding)",
    )
    p.add_argument("--no-reload", action="store_true", help="load the plugin once; refuse reloads")
    p.add_argument("--no-console", action="store_true", help="no /__dev/ routes (console, event stream, dev hooks, reload)")
    p.add_argument("--keep-state", action="store_true", help="carry the plugin's storage across reloads")
    p.add_argument("--user", default=None, help="user id of calls without an X-PlexiChat-User header (default dev_user)")
    p.add_argument("--permissions", default=None, help="comma-separated permissions of calls without an X-PlexiChat-Permissions header (default: the permissions the manifest declares)")
    p.add_argument(
        "--control",
        default=None,
        metavar="stdin|fd:N",
        help="read reload commands (one JSON object per line) from stdin or file descriptor N; exit when it ends. The plugin's stdin is /dev/null either way",
    )
    args = p.parse_args(argv)
    if not 0 <= args.port <= 65535:
        p.error("--port must be between 0 and 65535")
    if not os.path.isdir(args.project):
        p.error("--project %s is not a directory" % args.project)
    args.auth_secret = None
    if args.auth_secret_file is not None:
        try:
            args.auth_secret = load_secret(args.auth_secret_file)
        except ValueError as e:
            p.error(str(e))
    if args.control is not None and _control_fd(args.control) is None:
        p.error("--control must be stdin or fd:N (N a file descriptor number, 0 or above 2)")
    for name in args.allow_host:
        if not name.strip() or any(c in name for c in " /\\@") or any(ord(c) < 33 or ord(c) == 127 for c in name):
            p.error("--allow-host %r is not a host name" % name)
    if not is_loopback(args.host) and not args.allow_remote and args.auth_secret is None:
        p.error("--host %s is not a loopback address; the host has no authentication: add --auth-secret-file (signed requests) or --allow-remote to listen there" % args.host)
    args.project = os.path.realpath(args.project)
    return args


def _control_fd(spec):
    """'stdin' -> 0, 'fd:N' -> N (N not 1 or 2), else None."""
    if spec == "stdin":
        return 0
    if spec.startswith("fd:") and spec[3:].isdigit():
        n = int(spec[3:])
        return n if n not in (1, 2) else None
    return None


def _take_control(spec):
    """The control channel, moved out of the plugin's reach before any plugin code runs: the
    descriptor it came on is duplicated to a private one that is not inherited (PEP 446) and
    is closed in children forked without exec; the original is closed, and stdin becomes
    /dev/null, so plugin code (or anything it starts) that reads stdin gets end-of-file and
    never a control command. Returns a binary file, or None when the descriptor is not open."""
    fd = _control_fd(spec)
    try:
        private = os.dup(fd)
    except OSError:
        return None
    os.set_inheritable(private, False)
    if hasattr(os, "register_at_fork"):
        def _close_in_child(fd=private):
            try:
                os.close(fd)
            except OSError:
                pass

        os.register_at_fork(after_in_child=_close_in_child)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    if null != 0:
        os.close(null)
    if fd != 0:
        try:
            os.close(fd)
        except OSError:
            pass
    return os.fdopen(private, "rb", buffering=0)


def _control_loop(host, stop, channel):
    """Commands from the CLI, one JSON object per line: {"op": "reload", "manifest": {...},
    "changed": [...]}, {"op": "reject", "event": {...}}, {"op": "validated", "event": {...}},
    {"op": "stop"}. The CLI's own events (reject, validated) are shown in the console only:
    the CLI printed them already."""
    for line in iter(channel.readline, b""):
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("op")
        except (ValueError, AttributeError):
            host.bus.emit("log", level="error", logger="host", message="ignored a control line that is not a JSON object")
            continue
        if op == "stop":
            break
        if op == "reload":
            if host.options.no_reload:
                host.bus.emit("log", level="warning", logger="host", message="reload ignored: the host runs with --no-reload")
            else:
                host.load(manifest=cmd.get("manifest"), changed=cmd.get("changed"), diagnostics=cmd.get("diagnostics"))
        elif op == "validated" and isinstance(cmd.get("event"), dict):
            host.validated(cmd["event"])
        elif op == "reject" and isinstance(cmd.get("event"), dict):
            host.reject(cmd["event"])
        else:
            host.bus.emit("log", level="error", logger="host", message="unknown control op %r" % (op,))
    stop.set()


_PR_SET_CHILD_SUBREAPER = 36


def _adopt_orphans():
    """Linux: make the host a child subreaper, so a daemon the plugin starts (fork, setsid,
    fork again) is reparented to the host rather than to init and can be stopped with it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError, TypeError):
        pass


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    channel = None
    if args.control is not None:
        channel = _take_control(args.control)
        if channel is None:
            sys.stderr.write("error: --control %s: that descriptor is not open\n" % args.control)
            sys.exit(2)
        _adopt_orphans()
    os.chdir(args.project)
    stop = threading.Event()
    real_stderr = sys.stderr
    bus = capture_output(lambda path: project_relpath(args.project, path))
    host = Host(args, bus)

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    host.load(initial=True)
    try:
        check_host = not args.no_console or is_loopback(args.host) or bool(args.allow_host)
        server = _Server((args.host, args.port), host, stop, args.allow_host, check_host)
    except OSError as e:
        code = {98: "PORT_IN_USE", 48: "PORT_IN_USE", 99: "ADDRESS_NOT_AVAILABLE", 13: "PERMISSION_DENIED"}.get(e.errno, "LISTEN_FAILED")
        message = "cannot listen on %s:%d: %s" % (args.host, args.port, e.strerror or e)
        bus.emit("fatal", error={"code": code, "message": message})
        real_stderr.write("error: %s\n" % message)
        real_stderr.flush()
        bus.flush()
        os._exit(1)
    port = server.server_address[1]
    shown = "[%s]" % args.host if ":" in args.host else args.host
    if not is_loopback(args.host) and args.auth_secret is None:
        warning = "listening on %s: the plugin host has no authentication; anyone who can reach this address can call the plugin (as the default caller: remote identity headers are ignored)" % args.host
        real_stderr.write("warning: %s\n" % warning)
        real_stderr.flush()
        bus.emit("log", level="warning", logger="host", message=warning)
    ready = {
        "url": "http://%s:%d" % (shown, port),
        "port": port,
        "host": args.host,
        "pid": os.getpid(),
        "loaded": host.generation is not None,
        "console": None if args.no_console else "http://%s:%d/__dev/" % (shown, port),
        "reload": not args.no_reload,
    }
    user, permissions = host.default_identity()
    ready["caller"] = {"user": user, "permissions": permissions}
    if host.generation is not None:
        ready.update(host.generation.describe())
    else:
        ready["failure"] = host.failure
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="http", daemon=True)
    thread.start()
    bus.emit("ready", **ready)
    if channel is not None:
        threading.Thread(target=_control_loop, args=(host, stop, channel), name="control", daemon=True).start()
    while not stop.wait(0.5):
        pass
    bus.emit("stopping")
    stopper = threading.Thread(target=server.shutdown, daemon=True)
    stopper.start()
    stopper.join(0.2)
    if host.generation is not None:
        closer = threading.Thread(target=host.generation.close, daemon=True)
        closer.start()
        closer.join(0.3)
    bus.flush()
    if channel is not None:
        # What the plugin started ends with the host (under `dev`, even when the CLI was killed).
        end_processes(own_processes(), grace=0)
    # Plugin code may have started threads that would keep the interpreter alive.
    os._exit(0)


if __name__ == "__main__":
    main()
