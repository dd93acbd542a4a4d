"""Which addresses are loopback, and which Host names the plugin host answers.

The loopback rule is the CLI's too (src/core/loopback.ts, the same cases checked
against both in test/unit/loopback.test.ts): ``localhost`` in any case (with or
without a final dot), 127.0.0.0/8, ``::1`` in any spelling, with or without
brackets, and IPv4-mapped loopback (``::ffff:127.0.0.1``).

The Host rule keeps DNS rebinding out (a page at ``evil.example`` whose name
now resolves to this machine sends ``Host: evil.example``): a request is
answered only when its Host names this server: ``localhost``, a loopback
address, the address it listens on, any address of this machine when it
listens on all of them (0.0.0.0 or ::), the machine's own host names, or a
name given with ``--allow-host``. The port is not compared (port forwarding
changes it; a rebinding page cannot choose the name).
"""
import ipaddress
import socket

__all__ = ["is_loopback", "HostNames"]


def _ip(text):
    """The address in ``text`` (brackets allowed), or None when it is a name."""
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    try:
        ip = ipaddress.ip_address(t)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _name(text):
    return text.strip().lower().rstrip(".")


def is_loopback(host):
    """True for an address or name that can only be reached from this machine."""
    ip = _ip(host)
    if ip is not None:
        return ip.is_loopback
    return _name(host) == "localhost"


def _split_host_header(value):
    """'Name:port' / '[v6]:port' / 'name' -> the name or address part."""
    v = value.strip()
    if v.startswith("["):
        end = v.find("]")
        return v[: end + 1] if end != -1 else v
    if v.count(":") == 1:
        return v.split(":", 1)[0]
    return v


class HostNames(object):
    """The Host header values a server listening on ``bound`` answers."""

    def __init__(self, bound, allowed=()):
        self.bound = _ip(bound)
        self.bound_name = _name(bound)
        self.any_address = self.bound is not None and self.bound.is_unspecified
        self.allowed = {_name(a) for a in allowed if a and a.strip()}
        own = {"localhost"}
        if not is_loopback(bound):
            for name in (socket.gethostname(), socket.getfqdn()):
                if name:
                    own.add(_name(name))
        if self.bound is None:
            own.add(self.bound_name)
        self.own = own
        self._local = {}

    def _is_local(self, ip):
        """An address of this machine: one a socket can be bound to."""
        key = str(ip)
        if key not in self._local:
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            try:
                s = socket.socket(family, socket.SOCK_STREAM)
            except OSError:
                self._local[key] = False
            else:
                try:
                    s.bind((key, 0))
                    self._local[key] = True
                except OSError:
                    self._local[key] = False
                finally:
                    s.close()
        return self._local[key]

    def allows(self, header):
        """True when the Host header ``header`` names this server."""
        part = _split_host_header(header)
        if not part:
            return False
        ip = _ip(part)
        if ip is not None:
            if ip.is_loopback or (self.bound is not None and ip == self.bound):
                return True
            return self.any_address and not ip.is_unspecified and self._is_local(ip)
        name = _name(part)
        return name in self.allowed or name in self.own
