"""Validation of session files: our own layout, the original AutoAgent's, and exports.

Every session that comes from disk or from an import file passes :func:`session_from_data`,
which checks each field's type and says exactly what is wrong (``turns[2].messages:
expected a list, got str``). Files written by the original AutoAgent (``{"metadata":
{...}, "transcript": [...]}``) and older files with fewer fields load tolerantly: a missing
optional field takes its default, a wrong type is still an error.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.types import (
    SESSION_SCHEMA_VERSION,
    SESSION_STATUSES,
    Session,
    SessionSummary,
    Turn,
    Usage,
    utc_now,
)

EXPORT_FORMAT = "autoagent-session"
MAX_IMPORT_BYTES = 50 * 1024 * 1024
INDEX_TASK_CHARS = 200
MAX_COUNT = 2**53
"""Largest token count or index accepted on import (what a JSON reader keeps exactly)."""
# the original AutoAgent called a failed session "error"
_LEGACY_STATUS = {"error": "failed"}
_ROLES = ("system", "user", "assistant", "tool")


class SchemaError(ValueError):
    """A session document has a wrong type or lacks a required field."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _expect(value: Any, types: type | tuple[type, ...], where: str, what: str) -> Any:
    # bool is an int in Python, never a valid number or text here
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise SchemaError(f"{where}: expected {what}, got {_kind(value)}")
    if not isinstance(value, types):
        raise SchemaError(f"{where}: expected {what}, got {_kind(value)}")
    return value


def _opt(data: dict[str, Any], key: str, types: type | tuple[type, ...], what: str,
         default: Any, where: str) -> Any:
    if key not in data or (data[key] is None and default is None):
        return default
    return _expect(data[key], types, f"{where}{key}", what)


def _list_of(data: dict[str, Any], key: str, item: type, what: str, where: str) -> list[Any]:
    values = _opt(data, key, list, "a list", [], where)
    for n, value in enumerate(values):
        _expect(value, item, f"{where}{key}[{n}]", what)
    return list(values)


def _usage(value: Any, where: str) -> Usage:
    if value is None:
        return Usage()
    _expect(value, dict, where, "an object")
    counts = {}
    for key in ("prompt_tokens", "completion_tokens"):
        n = _opt(value, key, int, "a whole number", 0, f"{where}.")
        if n < 0:
            raise SchemaError(f"{where}.{key}: must not be negative")
        if n > MAX_COUNT:
            raise SchemaError(f"{where}.{key}: out of range (at most {MAX_COUNT})")
        counts[key] = n
    return Usage(counts["prompt_tokens"], counts["completion_tokens"])


def _turn(value: Any, position: int) -> Turn:
    where = f"turns[{position}]"
    _expect(value, dict, where, "an object")
    w = where + "."
    index = _opt(value, "index", int, "a whole number", position + 1, w)
    decision = _opt(value, "decision", dict, "an object or null", None, w)
    return Turn(
        index=index,
        messages=_list_of(value, "messages", dict, "an object", w),
        actions=_list_of(value, "actions", dict, "an object", w),
        results=_list_of(value, "results", dict, "an object", w),
        decision=decision,
        usage=_usage(value.get("usage"), w + "usage"),
        started_at=_opt(value, "started_at", str, "text", "", w),
        finished_at=_opt(value, "finished_at", str, "text or null", None, w),
    )


def _status(value: Any, where: str) -> str:
    _expect(value, str, where, "text")
    status = _LEGACY_STATUS.get(value, value)
    if status not in SESSION_STATUSES:
        raise SchemaError(f"{where}: expected one of {', '.join(SESSION_STATUSES)}, "
                          f"got {value[:40]!r}")
    return status


def _schema_version(data: dict[str, Any], where: str = "") -> int:
    version = _opt(data, "schema_version", int, "a whole number", 1, where)
    if version < 1:
        raise SchemaError(f"{where}schema_version: must be at least 1, got {version}")
    if version > SESSION_SCHEMA_VERSION:
        raise SchemaError(
            f"{where}schema_version {version} is newer than this autoagent understands "
            f"({SESSION_SCHEMA_VERSION}); upgrade autoagent to read it"
        )
    return version


def is_legacy(data: dict[str, Any]) -> bool:
    """True for a session file of the original AutoAgent (``metadata`` + ``transcript``)."""
    return "id" not in data and isinstance(data.get("metadata"), dict)


def _tool_uses(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Tool uses: autoagent's objects, or the original's names."""
    uses = []
    for n, tool in enumerate(_opt(data, key, list, "a list", [], "")):
        if isinstance(tool, str):
            uses.append({"name": tool})
        else:
            uses.append(_expect(tool, dict, f"{key}[{n}]", "text or an object"))
    return uses


def _from_legacy(data: dict[str, Any], fallback_id: str | None) -> Session:
    from autoagent_plugins.fs_sessions.original import kept_original, turns_from_transcript

    meta = data["metadata"]
    sid = meta.get("session_id", fallback_id)
    if fallback_id is not None:
        sid = fallback_id
    _expect(sid, str, "metadata.session_id", "text")
    transcript = _list_of(data, "transcript", dict, "an object", "")
    for n, msg in enumerate(transcript):
        _expect(msg.get("content", ""), str, f"transcript[{n}].content", "text")
    _opt(data, "custom_data", dict, "an object", None, "")
    created = _opt(meta, "created_at", str, "text", "", "metadata.") or utc_now()
    status = _status(meta.get("status", "active"), "metadata.status")
    turns, answer = turns_from_transcript(transcript, created, status == "completed")
    return Session(
        id=sid,
        task=_opt(meta, "task", str, "text", "", "metadata."),
        status=status,  # type: ignore[arg-type]
        created_at=created,
        updated_at=_opt(meta, "updated_at", str, "text", "", "metadata.") or created,
        model=_opt(meta, "model", str, "text", "", "metadata."),
        turns=turns,
        tools_used=_tool_uses(data, "tools_used"),
        answer=answer,
        original=kept_original(data),
        original_turns=len(turns),
    )


def session_from_data(data: Any, fallback_id: str | None = None) -> Session:
    """Validate a session document and build the :class:`Session`.

    ``fallback_id`` is the id implied by the file name; when given it wins over the id in
    the document (a file is the session its name says). Raises :class:`SchemaError`.
    """
    _expect(data, dict, "session", "a JSON object")
    if is_legacy(data):
        return _from_legacy(data, fallback_id)
    version = _schema_version(data)
    if "id" not in data and fallback_id is None:
        raise SchemaError("id: missing")
    if "task" not in data:
        raise SchemaError("task: missing")
    sid = fallback_id if fallback_id is not None else _expect(data["id"], str, "id", "text")
    if "id" in data:
        _expect(data["id"], str, "id", "text")
    created = _opt(data, "created_at", str, "text", "", "") or utc_now()
    turns_raw = _opt(data, "turns", list, "a list", [], "")
    return Session(
        id=sid,
        task=_expect(data["task"], str, "task", "text"),
        status=_status(data.get("status", "active"), "status"),  # type: ignore[arg-type]
        created_at=created,
        updated_at=_opt(data, "updated_at", str, "text", "", "") or created,
        backend=_opt(data, "backend", str, "text", "", ""),
        model=_opt(data, "model", str, "text", "", ""),
        turns=[_turn(t, n) for n, t in enumerate(turns_raw)],
        instructions=_list_of(data, "instructions", str, "text", ""),
        tools_created=_list_of(data, "tools_created", dict, "an object", ""),
        tools_used=_tool_uses(data, "tool_uses" if "tool_uses" in data else "tools_used"),
        agents_created=_list_of(data, "agents_created", str, "text", ""),
        answer=_opt(data, "answer", str, "text or null", None, ""),
        run_dirs=_list_of(data, "run_dirs", str, "text", ""),
        schema_version=version,
        **_original_part(data, len(turns_raw)),
    )


def _original_part(data: dict[str, Any], turns: int) -> dict[str, Any]:
    """The original's keys written beside ours (kept as read; every turn so far is
    already in that transcript)."""
    if not isinstance(data.get("metadata"), dict):
        return {}
    from autoagent_plugins.fs_sessions.original import kept_original

    return {"original": kept_original(data), "original_turns": turns}


def unwrap_export(data: Any) -> Any:
    """The session document inside an export (or ``data`` itself when it is a bare
    session file). Raises :class:`SchemaError` for an unknown format."""
    _expect(data, dict, "file", "a JSON object")
    if "format" not in data:
        return data
    fmt = data["format"]
    if fmt != EXPORT_FORMAT:
        raise SchemaError(f"format: expected {EXPORT_FORMAT!r}, got {str(fmt)[:60]!r}")
    _schema_version(data)
    if "session" not in data:
        raise SchemaError("session: missing")
    return data["session"]


# --------------------------------------------------------------------------- index rows


def index_row(data: dict[str, Any]) -> dict[str, Any]:
    """The index row of a (serialised, redacted) session: what ``sessions list`` shows."""
    return {
        "task": data["task"][:INDEX_TASK_CHARS],
        "status": data["status"],
        "turns": _turn_count(data),
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
        "model": data.get("model", ""),
        # the original AutoAgent's row also has these
        "tags": (data.get("metadata") or {}).get("tags", []),
    }


def _turn_count(data: dict[str, Any]) -> int:
    meta = data.get("metadata")
    total = meta.get("total_turns") if isinstance(meta, dict) else None
    return total if type(total) is int and total >= 0 else len(data["turns"])


def summary_from_row(sid: str, row: Any) -> SessionSummary | None:
    """A :class:`SessionSummary` from an index row, tolerating rows of the original
    AutoAgent (no ``turns``, status ``error``); ``None`` for a row that is not an object."""
    if not isinstance(row, dict):
        return None
    turns = row.get("turns")
    status = row.get("status")
    if type(turns) is int and status in SESSION_STATUSES:  # fast path: our own rows
        return SessionSummary(sid, str(row.get("task", "")), status, turns,
                              str(row.get("created_at", "")), str(row.get("updated_at", "")))
    turns = row.get("turns", row.get("total_turns", 0))
    status = row.get("status", "active")
    return SessionSummary(
        id=sid,
        task=str(row.get("task", "")),
        status=_LEGACY_STATUS.get(status, str(status)),
        turns=turns if isinstance(turns, int) and not isinstance(turns, bool) else 0,
        created_at=str(row.get("created_at", "")),
        updated_at=str(row.get("updated_at", "")),
    )
