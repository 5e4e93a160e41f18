"""Terminal-safe text: the one function every path to a terminal uses for text that came
from a model, a tool, a file or a name.

C0 control characters (ESC, BEL, backspace, carriage return, ...), DEL, the C1 range
(U+0080-U+009F: 8-bit CSI and OSC among them) and the bidirectional overrides are shown
escaped (``\\x1b``, ``\\x9b``, ``\\u202e``), never executed: a tool cannot write to the
clipboard (OSC 52), retitle the window, clear the screen or overwrite a line with a fake
``autoagent:`` message. Newline and tab pass unchanged. JSON output (``--json``) does not
use this: ``json.dumps`` escapes every control character itself and keeps the text exact.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069]")
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                              "\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str, one_line: bool = False) -> str:
    """``text`` with every control character shown escaped (newline and tab kept, unless
    ``one_line``, which escapes them too)."""
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_escape, text)


def safe_bytes(data: bytes) -> str:
    """Bytes a tool wrote, decoded (invalid UTF-8 shown as ``\\xNN``) and made safe."""
    return safe_text(data.decode("utf-8", "backslashreplace"))


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_text(data: object, indent: int | None = 2) -> str:
    """``data`` as JSON that is exact (it parses back to the same text) and safe on a
    terminal: ``json.dumps`` escapes C0 controls itself; DEL, C1 and the bidirectional
    overrides, which it passes raw, become ``\\uXXXX`` escapes too (valid only inside JSON
    strings, where such characters can only be)."""
    import json

    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
