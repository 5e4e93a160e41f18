"""Turning a session into the bytes of its file, quickly and without secrets.

A save happens after every turn, so its cost matters: ``dataclasses.asdict`` deep-copies
the whole session, the redactor walks every string with three regular expressions, and
``json.dumps(indent=...)`` runs in pure Python. Here the document is built shallowly, it
is serialised with the C encoder (one line per top-level field and per turn, so the file
stays readable), and the redactor's walk runs only when a quick scan of the JSON text
finds something it could mask: a secret value (also in its JSON-escaped form), or the
words ``authorization`` / ``bearer`` its header patterns start with. When the scan finds
nothing, the walk would have changed nothing, so the text is written as it is.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from autoagent_core.types import SESSION_SCHEMA_VERSION, Session, Turn

if TYPE_CHECKING:
    from autoagent_core.redact import Redactor

_TURN_FIELDS = tuple(f.name for f in dataclasses.fields(Turn))
_SESSION_FIELDS = tuple(f.name for f in dataclasses.fields(Session))
_NOT_WRITTEN = ("schema_version", "original", "original_turns")


def turn_document(turn: Turn) -> dict[str, Any]:
    """Same content as ``Turn.to_dict()``, without copying the nested values."""
    data = {name: getattr(turn, name) for name in _TURN_FIELDS}
    data["usage"] = turn.usage.to_dict()
    return data


def session_document(session: Session) -> dict[str, Any]:
    """The document of a session file: the fields of ``Session.to_dict()`` (the derived
    total ``usage`` left out) with ``schema_version`` first, then the original AutoAgent's
    four keys (see :mod:`autoagent_plugins.fs_sessions.original`). Nested values are shared
    with ``session``, so treat the result as read-only."""
    from autoagent_plugins.fs_sessions.original import original_document

    data: dict[str, Any] = {"schema_version": SESSION_SCHEMA_VERSION}
    for name in _SESSION_FIELDS:
        if name not in _NOT_WRITTEN:
            data[name] = getattr(session, name)
    data["turns"] = [turn_document(t) for t in session.turns]
    # the original AutoAgent's keys, so that it can still load and resume the file; its
    # "tools_used" is a list of names, so autoagent's records of each use go in "tool_uses"
    data["tool_uses"] = data.pop("tools_used")
    data.update(original_document(session))
    return data


def encode(data: dict[str, Any]) -> bytes:
    """JSON with one line per top-level field, and one line per turn."""
    dumps = json.dumps
    parts = []
    for key, value in data.items():
        if key == "turns" and isinstance(value, list) and value:
            inner = ",\n".join("  " + dumps(t, ensure_ascii=False) for t in value)
            parts.append(f" {dumps(key)}: [\n{inner}\n ]")
        else:
            parts.append(f" {dumps(key)}: {dumps(value, ensure_ascii=False)}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8", "backslashreplace")


class RedactingEncoder:
    """Encodes documents with every secret masked (see the module docstring)."""

    def __init__(self, redactor: Redactor | None) -> None:
        self.redactor = redactor
        self._needles: list[bytes] = []
        if redactor is not None:
            for secret in redactor.secrets:
                escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
                self._needles += {secret.encode("utf-8"), escaped.encode("utf-8")}

    def might_hold_secrets(self, raw: bytes) -> bool:
        """False when redacting the document encoded as ``raw`` would change nothing.
        (Plain substring searches: much faster than one regular expression.)"""
        if self.redactor is None:
            return False
        if any(needle in raw for needle in self._needles):
            return True
        lowered = raw.lower()
        return b"authorization" in lowered or b"bearer" in lowered

    def redact(self, data: dict[str, Any]) -> dict[str, Any]:
        """The document with secrets masked (a new object when anything changed)."""
        if self.redactor is None:
            return data
        redacted: dict[str, Any] = self.redactor(data)
        return redacted

    def encode(self, data: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """``(redacted document, its bytes)``."""
        raw = encode(data)
        if not self.might_hold_secrets(raw):
            return data, raw
        data = self.redact(data)
        return data, encode(data)
