"""The one JSON scanner for untrusted text: model replies, tool output, imports, manifests.

Everything here is linear in the length of the text and bounded in depth:

* :func:`clean_text` / :func:`clean_value`: lone surrogates (``"\\ud800"`` decodes to one)
  become U+FFFD, so the text can always be encoded as UTF-8.
* :func:`loads`: ``json.loads`` behind a depth check (:data:`MAX_DEPTH`), a size check, and
  optionally a refusal of ``NaN``/``Infinity``; every failure is a :class:`JsonScanError`.
* :func:`object_spans`: the balanced ``{...}`` spans of a reply with prose around them,
  found in one pass that jumps over strings and plain text with regular expressions.
* :func:`repair`: raw control characters inside strings escaped, trailing commas dropped.
* :class:`JsonScanner` and :func:`close_json`: follow a reply as it streams, and close a
  reply cut short (the local model's reply watcher).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of objects and arrays accepted in untrusted JSON."""
MAX_SPANS = 50
"""Most candidate spans returned by :func:`object_spans`."""
MAX_RESTARTS = 4
"""When a brace is never closed and holds no balanced span (a stray ``{"`` in prose),
the scan starts again after it, at most this many times: the cost stays linear."""


class JsonScanError(ValueError):
    """Untrusted JSON that cannot be used: too deep, too large, not JSON, NaN."""


# --------------------------------------------------------------------------- surrogates

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (pairs are joined)."""
    if not _SURROGATE_RE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean_value(value: Any) -> Any:
    """A JSON value with :func:`clean_text` applied to every string, keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_value(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    return value


# --------------------------------------------------------------------------- tokens

# a string runs to its closing quote, or to the end of the text (never re-scanned)
_STRING = r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)'
_TOKEN_RE = re.compile(_STRING + r'|[{\[]|[}\]]|[^"{}\[\]]++', re.DOTALL)


def nesting_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than ``limit``; stops early."""
    depth = 0
    for match in _TOKEN_RE.finditer(text):
        ch = match.group()[0]
        if ch == "{" or ch == "[":
            depth += 1
            if depth > limit:
                return True
        elif ch == "}" or ch == "]":
            depth -= 1
    return False


def object_spans(text: str, limit: int = MAX_SPANS,
                 max_depth: int = MAX_DEPTH) -> tuple[list[str], bool]:
    """The top-level balanced ``{...}`` spans of ``text`` (strings taken into account), and
    whether the scan stopped at nesting deeper than ``max_depth``.

    When an opening brace is never closed, the largest balanced spans inside it count
    instead. One pass: strings and plain text are skipped by a regular expression.
    """
    spans: list[str] = []
    too_deep = False
    restarts = 0
    start = text.find("{")
    while start != -1 and len(spans) < limit:
        opens: list[int] = []      # positions of the open braces
        closed: list[tuple[int, int]] = []  # balanced spans inside the open one
        depth = 0                  # braces and brackets
        end = -1
        for match in _TOKEN_RE.finditer(text, start):
            ch = match.group()[0]
            if ch == "{":
                opens.append(match.start())
                depth += 1
            elif ch == "[":
                depth += 1
            elif ch == "}":
                depth -= 1
                if opens:
                    begin = opens.pop()
                    if not opens:
                        end = match.start()
                        break
                    closed.append((begin, match.start()))
            elif ch == "]":
                depth -= 1
            else:
                continue
            if depth > max_depth:
                too_deep = True
                break
        if end != -1:
            spans.append(text[start:end + 1])
            start = text.find("{", end + 1)
            continue
        # never closed: the maximal balanced spans inside (closed in end order)
        kept: list[tuple[int, int]] = []
        for begin, stop in reversed(closed):
            if not kept or stop < kept[-1][0]:
                kept.append((begin, stop))
        spans += [text[b:s + 1] for b, s in reversed(kept)][: limit - len(spans)]
        if kept or too_deep or restarts >= MAX_RESTARTS:
            break
        restarts += 1
        start = text.find("{", start + 1)
    return spans, too_deep


# --------------------------------------------------------------------------- repair

_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_CONTROL_RE = re.compile(r"[\x00-\x1f]")
_NEEDS_REPAIR_RE = re.compile(r"[\x00-\x1f]|,\s*+[}\]]")
_REPAIR_RE = re.compile(_STRING + r"|,(?=\s*+[}\]])", re.DOTALL)


def _escape_control(match: re.Match[str]) -> str:
    ch = match.group()
    return _CONTROL_ESCAPES.get(ch, f"\\u{ord(ch):04x}")


def _repair_token(match: re.Match[str]) -> str:
    token = match.group()
    if token == ",":
        return ""
    return _CONTROL_RE.sub(_escape_control, token)


def repair(text: str) -> str:
    """Escape raw control characters inside strings and drop trailing commas."""
    if not _NEEDS_REPAIR_RE.search(text):
        return text
    return _REPAIR_RE.sub(_repair_token, text)


# --------------------------------------------------------------------------- loading


_ESCAPED_SURROGATE_RE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")


def _no_constant(name: str) -> Any:
    raise JsonScanError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonScanError(f"{text[:40]} is out of range for a JSON number")
    return value


def _check_depth(value: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= max_depth:
            raise JsonScanError(f"nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children)


def loads(text: str | bytes, max_depth: int = MAX_DEPTH, max_chars: int | None = None,
          allow_nan: bool = True) -> Any:
    """Parse untrusted JSON: bounded in size and depth, lone surrogates cleaned; with
    ``allow_nan=False``, ``NaN``, ``Infinity`` and numbers beyond a float's range refused.

    Raises :class:`JsonScanError` with a one-line reason.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonScanError(f"not UTF-8 text (byte {exc.start})") from None
    if max_chars is not None and len(text) > max_chars:
        raise JsonScanError(f"larger than {max_chars:,} characters")
    try:
        if allow_nan:
            value = json.loads(text)
        else:
            value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise JsonScanError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise JsonScanError(f"nested deeper than {max_depth} levels") from None
    except JsonScanError:
        raise
    except ValueError as exc:  # an integer of more than 4,300 digits, and the like
        raise JsonScanError(str(exc).splitlines()[0][:200]) from None
    _check_depth(value, max_depth)
    return clean_value(value) if _ESCAPED_SURROGATE_RE.search(text) else value


def nonfinite_paths(value: Any, where: str = "") -> list[str]:
    """Paths (``turns[2].usage``) of the numbers in ``value`` that are NaN or infinite."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            found.append(path or "value")
        elif isinstance(item, dict):
            stack += [(v, f"{path}.{k}" if path else str(k)) for k, v in item.items()]
        elif isinstance(item, list):
            stack += [(v, f"{path}[{n}]") for n, v in enumerate(item)]
    return found


# --------------------------------------------------------------------------- streams


class JsonScanner:
    """Follows JSON text byte by byte: inside a string or not, and the open containers."""

    def __init__(self) -> None:
        self.in_string = False
        self.escaped = False
        self.stack: list[int] = []

    def feed(self, data: bytes) -> None:
        for byte in data:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif byte == 0x5C:  # backslash
                    self.escaped = True
                elif byte == 0x22:  # quote
                    self.in_string = False
            elif byte == 0x22:
                self.in_string = True
            elif byte in (0x7B, 0x5B):  # { [
                self.stack.append(byte)
            elif byte in (0x7D, 0x5D) and self.stack:
                self.stack.pop()


_PARTIAL_LITERALS = {"t": "true", "tr": "true", "tru": "true", "f": "false", "fa": "false",
                     "fal": "false", "fals": "false", "n": "null", "nu": "null",
                     "nul": "null"}
_TRAILING_WORD = re.compile(r"([A-Za-z0-9.+\-]+)$")


def close_json(text: str) -> str | None:
    """Complete ``text``, a JSON value cut short, so that it parses; ``None`` if it cannot.

    Closes an open string, drops a dangling comma, gives a dangling key the value ``null``,
    finishes a cut literal, and closes the open objects and arrays.
    """
    in_string = escaped = False
    stack: list[str] = []
    key_pending: list[bool] = []  # per open object: a key was read, its value not yet
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
            if stack and stack[-1] == "{" and not key_pending[-1]:
                key_pending[-1] = True  # this string is a key
        elif char in "{[":
            stack.append(char)
            key_pending.append(False)
        elif char in "}]" and stack:
            stack.pop()
            key_pending.pop()
        elif char == "," and stack and stack[-1] == "{":
            key_pending[-1] = False
    out = text
    if in_string:
        if escaped:
            out = out[:-1]
        out = re.sub(r"\\u[0-9a-fA-F]{0,3}$", "", out) + '"'
    out = out.rstrip()
    if out.endswith(","):
        out = out[:-1]
    elif out.endswith(":"):
        out += " null"
    elif (stack and stack[-1] == "{" and key_pending[-1]
          and re.search(r'[{,]\s*"(?:[^"\\]|\\.)*"$', out)):
        out += ": null"  # the reply stopped right after a key
    else:
        word = _TRAILING_WORD.search(out)
        if word and not in_string:
            part = word.group(1)
            if part in _PARTIAL_LITERALS:
                out = out[: -len(part)] + _PARTIAL_LITERALS[part]
            elif part[-1] in ".+-eE":
                out = out.rstrip(".+-eE") or "null"
    out += "".join("}" if opener == "{" else "]" for opener in reversed(stack))
    try:
        json.loads(out)
    except ValueError:
        return None
    return out
