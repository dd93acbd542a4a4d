"""A small YAML reader for plugin manifests (standard library only).

PyYAML cannot be assumed on a plugin developer's machine, and the manifest
(config/plugin.yaml) uses a small part of YAML. This reader handles exactly:

* block mappings (``key: value``, nested by indentation with spaces) and
  block lists (``- item``), including lists written at the same indentation
  as their key and list items that start a mapping (``- name: x``);
* flow lists and flow mappings on one line (``[a, "b", 3]``, ``{a: 1}``),
  nested flows included;
* plain scalars resolved by the YAML 1.2 core schema (``null``/``~``, ``true``/
  ``false``, integers incl. ``0o``/``0x``, floats incl. ``.inf``/``.nan``;
  everything else is a string, so ``yes`` and ``500m`` stay strings);
* single-quoted (``''`` escapes a quote) and double-quoted strings with the
  usual backslash escapes;
* comments (``#`` at the start of a line or after whitespace, outside quotes),
  blank lines, a leading ``---`` and a trailing ``...``.

Anything else (block scalars ``|``/``>``, anchors, aliases, tags, multi-line
plain or quoted scalars, flows over several lines, tabs in indentation,
several documents) raises :class:`YamlError` naming the line, rather than
being read differently from a full YAML parser; so does what YAML itself
refuses (a plain value holding ``: `` or ending in ``:``, one starting with
``@``, a backquote or ``%``, a ``- `` list or ``? `` key on the line of its key,
duplicate keys). ``plexichat-plugin-cli test``
sidesteps this reader entirely: it parses the manifest with a complete YAML
parser and hands it over as JSON (see ``manifest.py``).
"""
import math
import re

__all__ = ["YamlError", "loads"]


class YamlError(ValueError):
    def __init__(self, message, line=None):
        self.line = line
        self.reason = message
        super().__init__("line %d: %s" % (line, message) if line else message)


_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
    "_": "\xa0", "L": "\u2028", "P": "\u2029",
}


def resolve_plain(text):
    """Resolve a plain scalar with the YAML 1.2 core schema."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.match(text):
        return int(text, 10)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if text in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"):
        return math.inf
    if text in ("-.inf", "-.Inf", "-.INF"):
        return -math.inf
    if text in (".nan", ".NaN", ".NAN"):
        return math.nan
    return text


class _Line(object):
    __slots__ = ("no", "indent", "text")

    def __init__(self, no, indent, text):
        self.no = no
        self.indent = indent
        self.text = text


def _strip_comment(text, no):
    """Drop a trailing comment; quotes protect '#'."""
    quote = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote == '"':
            if c == "\\":
                i += 2
                continue
            if c == '"':
                quote = None
        elif quote == "'":
            if c == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    i += 2
                    continue
                quote = None
        elif c in "\"'" and (i == 0 or text[i - 1] in " \t[{,:-"):
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
        i += 1
    return text.rstrip()


def _lines(source):
    out = []
    for no, raw in enumerate(source.splitlines(), 1):
        body = raw.lstrip(" ")
        indent = len(raw) - len(body)
        if body.startswith("\t") or (body.strip() and "\t" in raw[: indent + 1] and raw[:1] == "\t"):
            raise YamlError("a tab is used for indentation; use spaces", no)
        text = _strip_comment(body, no)
        if not text.strip():
            continue
        if indent == 0 and text.strip() in ("---", "..."):
            if text.strip() == "---" and out:
                raise YamlError("several YAML documents in one file are not supported", no)
            continue
        if indent == 0 and text.startswith("%"):
            raise YamlError("YAML directives are not supported", no)
        out.append(_Line(no, indent, text))
    return out


def _is_item(text):
    return text == "-" or text.startswith("- ")


class _Flow(object):
    """Parser for one-line flow collections and quoted scalars."""

    def __init__(self, text, no):
        self.s = text
        self.i = 0
        self.no = no

    def error(self, message):
        raise YamlError(message, self.no)

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def value(self, in_flow):
        self.ws()
        if self.i >= len(self.s):
            return None
        c = self.s[self.i]
        if c == "[":
            return self.seq()
        if c == "{":
            return self.map()
        if c == '"':
            return self.double()
        if c == "'":
            return self.single()
        if c in "&*!":
            self.error("anchors, aliases and tags (%s) are not supported" % c)
        if c in "|>" and not in_flow:
            self.error("block scalars (| and >) are not supported; write the text on one line in quotes")
        return self.plain(in_flow)

    def plain(self, in_flow):
        start = self.i
        _check_plain_start(self.s[self.i:], self.no)
        stops = ",]}" if in_flow else ""
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in stops:
                break
            if in_flow and c == ":" and (self.i + 1 == len(self.s) or self.s[self.i + 1] in " ,]}"):
                break
            self.i += 1
        text = self.s[start:self.i].strip()
        if not in_flow and _MAPPING_VALUE.search(text):
            self.error(
                "a value holding ': ' or ending in ':' is read by YAML as a nested mapping, which is not "
                "allowed here; put the value in quotes"
            )
        return resolve_plain(text)

    def double(self):
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                self.error("unterminated double-quoted string (strings must end on the same line)")
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                if self.i + 1 >= len(self.s):
                    self.error("unterminated double-quoted string")
                e = self.s[self.i + 1]
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                    self.i += 2
                elif e in "xuU":
                    width = {"x": 2, "u": 4, "U": 8}[e]
                    digits = self.s[self.i + 2:self.i + 2 + width]
                    if len(digits) != width or not re.match(r"^[0-9a-fA-F]+$", digits):
                        self.error("bad \\%s escape in a double-quoted string" % e)
                    out.append(chr(int(digits, 16)))
                    self.i += 2 + width
                else:
                    self.error("unknown escape \\%s in a double-quoted string" % e)
                continue
            out.append(c)
            self.i += 1

    def single(self):
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                self.error("unterminated single-quoted string (strings must end on the same line)")
            c = self.s[self.i]
            if c == "'":
                if self.s[self.i + 1:self.i + 2] == "'":
                    out.append("'")
                    self.i += 2
                    continue
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1

    def seq(self):
        self.i += 1
        items = []
        while True:
            self.ws()
            if self.i >= len(self.s):
                self.error("unclosed '[' (flow lists must end on the same line)")
            if self.s[self.i] == "]":
                self.i += 1
                return items
            items.append(self.value(True))
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == ",":
                self.i += 1
            elif self.i < len(self.s) and self.s[self.i] != "]":
                self.error("expected ',' or ']' in a flow list")

    def map(self):
        self.i += 1
        out = {}
        while True:
            self.ws()
            if self.i >= len(self.s):
                self.error("unclosed '{' (flow mappings must end on the same line)")
            if self.s[self.i] == "}":
                self.i += 1
                return out
            key = self.value(True)
            self.ws()
            val = None
            if self.i < len(self.s) and self.s[self.i] == ":":
                self.i += 1
                val = self.value(True)
            _put(out, key, val, self.no)
            self.ws()
            if self.i < len(self.s) and self.s[self.i] == ",":
                self.i += 1
            elif self.i < len(self.s) and self.s[self.i] != "}":
                self.error("expected ',' or '}' in a flow mapping")


_MAPPING_VALUE = re.compile(r":(?:[ \t]|$)")


def _check_plain_start(text, no):
    """Refuse what YAML does not allow at the start of a plain (unquoted) scalar."""
    first, after = text[:1], text[1:2]
    if first in ("@", "`"):
        raise YamlError("a plain value cannot start with the reserved character %s; put the value in quotes" % first, no)
    if first == "%":
        raise YamlError("a plain value cannot start with % (the directive indicator); put the value in quotes", no)
    if first == "-" and after in ("", " ", "\t"):
        raise YamlError("a list ('- item') cannot start on the same line as its key; start it on the next line, "
                        "or quote the value", no)
    if first == "?" and after in ("", " ", "\t"):
        raise YamlError("complex mapping keys ('? ') are not supported; quote the value", no)
    if first == ":" and after in ("", " ", "\t"):
        raise YamlError("a value cannot start with ': '; quote it", no)


def _put(mapping, key, value, no):
    try:
        hash(key)
    except TypeError:
        raise YamlError("a mapping key must be a scalar", no)
    if key in mapping:
        raise YamlError("duplicate key %r" % (key,), no)
    mapping[key] = value


def _inline(text, no):
    """A value written on the same line as its key or dash."""
    p = _Flow(text, no)
    v = p.value(False)
    p.ws()
    if p.i != len(p.s):
        p.error("unexpected text after a value: %r" % p.s[p.i:])
    return v


def _split_key(text, no):
    """'key: value' -> (key, value text or '') or None when it is no mapping entry."""
    if text[0] in "\"'":
        p = _Flow(text, no)
        key = p.double() if text[0] == '"' else p.single()
        rest = text[p.i:].lstrip(" ")
        if rest == ":" or rest.startswith(": "):
            return key, rest[1:].strip()
        return None
    if text[0] in "[{":
        return None
    m = re.match(r"^([^:]*?(?:[^:]|:[^ ])*?)\s*:(?: +(.*))?$", text)
    if not m or m.group(1) == "":
        return None
    _check_plain_start(m.group(1), no)
    key = resolve_plain(m.group(1))
    if isinstance(key, float) and key != key:  # NaN cannot be a key
        key = m.group(1)
    return key, (m.group(2) or "").strip()


class _Block(object):
    def __init__(self, lines):
        self.lines = lines
        self.i = 0

    def node(self, indent):
        line = self.lines[self.i]
        if _is_item(line.text):
            return self.seq(line.indent)
        return self.map(line.indent)

    def children(self, parent_indent, parent_no, allow_same_indent_list):
        """The value of a key or dash written with nothing after it."""
        if self.i >= len(self.lines):
            return None
        nxt = self.lines[self.i]
        if nxt.indent > parent_indent:
            return self.node(nxt.indent)
        if allow_same_indent_list and nxt.indent == parent_indent and _is_item(nxt.text):
            return self.seq(nxt.indent)
        return None

    def map(self, indent):
        out = {}
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.indent < indent:
                break
            if line.indent > indent:
                raise YamlError("unexpected indentation", line.no)
            if _is_item(line.text):
                raise YamlError("a list item where a 'key: value' entry was expected", line.no)
            kv = _split_key(line.text, line.no)
            if kv is None:
                raise YamlError("expected 'key: value' (multi-line plain text is not supported)", line.no)
            key, rest = kv
            self.i += 1
            if rest:
                value = _inline(rest, line.no)
            else:
                value = self.children(indent, line.no, True)
            _put(out, key, value, line.no)
        return out

    def seq(self, indent):
        out = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.indent < indent:
                break
            if line.indent > indent:
                raise YamlError("unexpected indentation", line.no)
            if not _is_item(line.text):
                break
            rest = line.text[1:].lstrip(" ")
            if not rest:
                self.i += 1
                out.append(self.children(indent, line.no, False))
                continue
            if _is_item(rest):
                # '- - x': a nested list starting on the same line.
                self.lines[self.i] = _Line(line.no, line.indent + (len(line.text) - len(rest)), rest)
                out.append(self.seq(self.lines[self.i].indent))
                continue
            kv = _split_key(rest, line.no) if rest[0] not in "[{" else None
            if kv is not None:
                # '- key: value' starts a mapping indented at the text after the dash.
                self.lines[self.i] = _Line(line.no, line.indent + (len(line.text) - len(rest)), rest)
                out.append(self.map(self.lines[self.i].indent))
                continue
            self.i += 1
            out.append(_inline(rest, line.no))
        return out


def loads(source):
    """Parse the supported YAML subset; an empty document is None."""
    if isinstance(source, bytes):
        source = source.decode("utf-8-sig")
    elif source.startswith("\ufeff"):
        source = source[1:]
    lines = _lines(source)
    if not lines:
        return None
    block = _Block(lines)
    first = lines[0]
    if not _is_item(first.text) and _split_key(first.text, first.no) is None:
        value = _inline(first.text, first.no)
        block.i = 1
    else:
        value = block.node(first.indent)
    if block.i < len(lines):
        raise YamlError("unexpected content (check the indentation)", lines[block.i].no)
    return value
