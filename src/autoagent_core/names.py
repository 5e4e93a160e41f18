"""Names that become paths are checked before any filesystem call (RELIABILITY item 14).

Only ASCII letters, digits and a few separators are accepted, so look-alike Unicode,
path separators, ``..``, NUL bytes and absurd lengths never reach ``open``.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from autoagent_core.errors import InvalidNameError

# tools are Python functions: identifiers, not keywords
_TOOL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
# agents: identifiers as well, hyphens allowed (the original used names such as data_analyst)
_AGENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", re.ASCII)
# sessions: user-chosen names such as my_calculator, or generated sortable ids
_SESSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", re.ASCII)


def _check(name: object, kind: str, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(name, str):
        raise InvalidNameError(f"invalid {kind}: expected text, got {type(name).__name__}")
    shown = repr(name[:80]) + ("..." if len(name) > 80 else "")
    if not pattern.fullmatch(name) or ".." in name:
        raise InvalidNameError(f"invalid {kind} {shown}: {rule}")
    return name


def validate_tool_name(name: object) -> str:
    name = _check(name, "tool name", _TOOL_RE,
                  "use a Python identifier of ASCII letters, digits and _ (at most 64)")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise InvalidNameError(f"invalid tool name {name!r}: it is a Python keyword")
    return name


# the stores' own files: a session or agent named like one would collide with it
_RESERVED_SESSION_IDS = ("index",)
_RESERVED_AGENT_NAMES = ("manifest",)


def _reserved(name: str, kind: str, reserved: tuple[str, ...]) -> str:
    stem = name.lower()
    if stem in reserved or any(stem.startswith(f"{r}.") for r in reserved):
        raise InvalidNameError(f"invalid {kind} {name!r}: the name is reserved for the "
                               "store's own files")
    return name


def validate_agent_name(name: object) -> str:
    name = _check(name, "agent name", _AGENT_RE,
                  "use ASCII letters, digits, _ and -, starting with a letter (at most 64)")
    if keyword.iskeyword(name):
        raise InvalidNameError(f"invalid agent name {name!r}: it is a Python keyword")
    return _reserved(name, "agent name", _RESERVED_AGENT_NAMES)


def validate_session_id(name: object) -> str:
    name = _check(name, "session id", _SESSION_RE,
                  "use ASCII letters, digits, _, . and -, starting with a letter or digit "
                  "(at most 128)")
    return _reserved(name, "session id", _RESERVED_SESSION_IDS)


def contained_path(directory: Path, filename: str) -> Path:
    """``directory/filename``, refusing any path (or symlink) that leads outside."""
    base = directory.resolve()
    candidate = base / filename
    resolved = candidate.resolve()
    if base not in resolved.parents:
        what = "a symlink that leads" if candidate.is_symlink() else "it leads"
        raise InvalidNameError(f"refusing {candidate}: {what} outside {base}")
    return candidate
