"""TASKS.jsonl: one JSON object a line, ``{"id": "...", "task": "..."}`` plus the optional
``max_turns``, ``backend``, ``model``, ``script`` and ``session_id``.

A file with bad lines is refused as a whole before any task starts, with every bad line
named by its number: a batch that skipped lines would leave a RESULTS file that looks
complete, and the fix (edit the file, rerun) costs nothing when no task has run yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoagent_core.errors import UsageError
from autoagent_core.names import validate_session_id

OPTIONAL_KEYS = {"max_turns": int, "backend": str, "model": str, "script": str,
                 "session_id": str}
MAX_REPORTED = 20


@dataclass
class BatchTask:
    """One line of TASKS."""

    id: str
    task: str
    line: int
    overrides: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None


def _check_line(raw: str, number: int, base: Path) -> BatchTask:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(data) - {"id", "task", *OPTIONAL_KEYS})
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(unknown)}")
    task_id, task = data.get("id"), data.get("task")
    if not isinstance(task_id, str | int) or isinstance(task_id, bool) or not str(task_id):
        raise ValueError("'id' must be a non-empty string")
    if not isinstance(task, str) or not task.strip():
        raise ValueError("'task' must be a non-empty string")
    overrides: dict[str, Any] = {}
    for key, kind in OPTIONAL_KEYS.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"'{key}' must be {'a whole number' if kind is int else 'text'}")
        overrides[key] = value
    if "max_turns" in overrides and overrides["max_turns"] < 1:
        raise ValueError("'max_turns' must be at least 1")
    session_id = overrides.pop("session_id", None)
    if session_id is not None:
        try:
            validate_session_id(session_id)
        except UsageError as exc:
            raise ValueError(str(exc)) from None
    if "script" in overrides:  # relative to the TASKS file, so a batch folder moves whole
        # and inside its folder: a TASKS file must not make the CLI read /etc/shadow or the
        # user config (links resolved first, so a link cannot lead out either)
        script = (base / overrides["script"]).resolve()
        if not script.is_relative_to(base):
            raise ValueError(f"'script' must be a file in the tasks file's folder {base}, "
                             f"not {overrides['script']!r}")
        overrides["script"] = str(script)
        overrides["backend"] = "scripted"
    return BatchTask(str(task_id), task, number, overrides, session_id)


def read_tasks(path: Path) -> list[BatchTask]:
    """Every task of ``path``, or a :class:`UsageError` listing every bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no tasks file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the tasks file {path}: {exc}") from None
    tasks: list[BatchTask] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    base = path.resolve().parent
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = _check_line(raw, number, base)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if item.id in seen:
            problems.append(f"line {number}: id {item.id!r} already on line {seen[item.id]}")
            continue
        seen[item.id] = number
        tasks.append(item)
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED])
        more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        raise UsageError(f"{path}: {len(problems)} bad line(s), nothing was run: {shown}{more}")
    if not tasks:
        raise UsageError(f"{path} holds no task")
    return tasks
