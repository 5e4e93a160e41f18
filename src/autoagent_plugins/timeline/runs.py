"""Finding and summarising the runs kept in the log folder (``.runs/`` by default).

A run's summary comes from its ``events.jsonl`` (the first ``run_started`` and the last
``run_finished`` event; the file is not parsed whole unless the run never finished), or
from the summary table of ``timeline.md`` when the JSONL recorder was not enabled.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autoagent_core.errors import NotFoundError, StorageError
from autoagent_core.names import validate_session_id
from autoagent_core.rundir import RUN_DIR_RE, run_dir_sort_key

EVENTS = "events.jsonl"
MARKDOWN = "timeline.md"
HTML = "timeline.html"
HEAD_LINES = 50
TAIL_BYTES = 256 * 1024
_TURN_MARK = b'"kind": "turn_started"'
_ROW_RE = re.compile(r"^\| (Task|Status|Session|Started|Turns) \| (.*) \|$")
_UNESCAPE_RE = re.compile(r"\\(.)")


@dataclass
class RunInfo:
    """One row of ``autoagent runs list``."""

    folder: str
    path: str
    started: str
    task: str
    status: str
    turns: int
    session_id: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _loads(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _first_run_started(path: Path) -> dict[str, Any] | None:
    with path.open("rb") as fh:
        for _ in range(HEAD_LINES):
            raw = fh.readline()
            if not raw:
                break
            event = _loads(raw)
            if event is not None and event.get("kind") == "run_started":
                return event
    return None


def _last_run_finished(path: Path) -> dict[str, Any] | None:
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - TAIL_BYTES))
        lines = fh.read().splitlines()
    for raw in reversed(lines):
        event = _loads(raw)
        if event is not None and event.get("kind") == "run_finished":
            return event
    return None


def _scan(path: Path) -> tuple[int, str, dict[str, Any] | None]:
    """Turns started, the status, and the ``run_finished`` event (None when the run never
    finished) read line by line; only the start of each line is looked at, where the
    event's ``kind`` is, unless it is the ``run_finished`` line."""
    turns, status, finished = 0, "incomplete", None
    with path.open("rb") as fh:
        for raw in fh:
            head = raw[:120]
            if _TURN_MARK in head:
                turns += 1
            elif b'"kind": "interrupted"' in head:
                status = "interrupted"
            elif b'"kind": "error"' in head and status == "incomplete":
                status = "failed"
            elif b'"kind": "run_finished"' in head:
                finished = _loads(raw) or finished
    return turns, status, finished


def _from_original(folder: Path, info: RunInfo) -> None:
    """A run the original AutoAgent wrote (``etype`` events)."""
    from autoagent_plugins.timeline.original_runs import original_run

    run = original_run(folder)
    info.task, info.session_id = run.task, run.session_id
    info.status, info.turns = run.status, run.turns


def _from_events(folder: Path, info: RunInfo) -> bool:
    from autoagent_plugins.timeline.original_runs import is_original_events

    path = folder / EVENTS
    if is_original_events(path):
        try:
            _from_original(folder, info)
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
        return True
    try:
        started = _first_run_started(path)
        finished = _last_run_finished(path)
        turns, status = 0, ""
        if finished is None:  # never finished, or a last line longer than the tail read
            turns, status, finished = _scan(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if started is not None:
        data = _data(started)
        info.task = str(data.get("task") or "")
        info.session_id = str(data.get("session_id") or "")
        ts = started.get("ts")
        if isinstance(ts, int | float):
            info.started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    if finished is not None:
        data = _data(finished)
        info.status = str(data.get("status") or "finished")
        value = data.get("turns")
        info.turns = int(value) if isinstance(value, int | float) else 0
    else:
        info.status, info.turns = status, turns
    return True


def _from_markdown(folder: Path, info: RunInfo) -> bool:
    try:
        text = (folder / MARKDOWN).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StorageError(f"cannot read {folder / MARKDOWN}: {exc.strerror or exc}") from None
    for line in text.splitlines()[:30]:
        match = _ROW_RE.match(line)
        if match is None:
            continue
        key, value = match.group(1), _UNESCAPE_RE.sub(r"\1", match.group(2))
        value = "" if value == "-" else value
        if key == "Task":
            info.task = value
        elif key == "Status":
            info.status = value
        elif key == "Session":
            info.session_id = value.removesuffix(" (resumed)")
        elif key == "Started":
            info.started = value
        elif key == "Turns" and value.isdigit():
            info.turns = int(value)
    return True


def run_info(folder: Path) -> RunInfo:
    """The summary of one run folder."""
    started = ""
    match = RUN_DIR_RE.match(folder.name)
    if match is not None:
        day, clock = match.group(1).split("_")
        started = f"{day} {clock.replace('-', ':')}"
    info = RunInfo(folder=folder.name, path=str(folder), started=started, task="",
                   status="unknown", turns=0, session_id="")
    if not _from_events(folder, info):
        _from_markdown(folder, info)
    return info


def run_folders(log_dir: Path) -> list[Path]:
    """Every run folder, oldest first."""
    try:
        entries = [Path(entry.path) for entry in os.scandir(log_dir)
                   if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"cannot read {log_dir}: {exc.strerror or exc}") from None
    return sorted(entries, key=lambda p: run_dir_sort_key(p.name))


def list_runs(log_dir: Path) -> list[RunInfo]:
    """Every run, most recent first."""
    return [run_info(folder) for folder in reversed(run_folders(log_dir))]


def _original_session(path: Path) -> str:
    from autoagent_plugins.timeline.original_runs import is_original_events, original_run

    return original_run(path.parent).session_id if is_original_events(path) else ""


def find_run(log_dir: Path, ref: str) -> Path:
    """The folder of run ``ref``: a folder name, or a session id (its latest run)."""
    validate_session_id(ref)
    direct = log_dir / ref
    if direct.is_dir() and not direct.is_symlink():
        return direct
    for folder in reversed(run_folders(log_dir)):
        path = folder / EVENTS
        try:
            started = _first_run_started(path)
        except OSError:
            started = None
        if started is not None:
            if str(_data(started).get("session_id") or "") == ref:
                return folder
        elif _original_session(path) == ref:
            return folder
        elif not path.exists():
            info = RunInfo(folder.name, str(folder), "", "", "", 0, "")
            if _from_markdown(folder, info) and info.session_id == ref:
                return folder
    raise NotFoundError(f"no run '{ref}' in {log_dir} (give a run folder name or a session "
                        "id; see 'autoagent runs list')")


def read_events(folder: Path) -> list[dict[str, Any]]:
    from autoagent_plugins.timeline.jsonl import read_events as _read

    return _read(folder / EVENTS)


def markdown_of(folder: Path, settings: Any) -> str:
    """The run's ``timeline.md``, or one rendered from ``events.jsonl`` when the run was
    killed before writing it. A run of the original AutoAgent is told from its events,
    proposed answers and tool code."""
    from autoagent_plugins.timeline.original_runs import (
        is_original_events,
        render_original_markdown,
    )

    if is_original_events(folder / EVENTS):
        from autoagent_core.redact import redactor_for

        return redactor_for(settings).text(
            render_original_markdown(folder, settings.path("sessions_dir")))
    try:
        return (folder / MARKDOWN).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StorageError(f"cannot read {folder / MARKDOWN}: {exc.strerror or exc}") from None
    from autoagent_plugins.timeline.markdown import render_markdown

    return _render_from_events(folder, settings, MARKDOWN, render_markdown)


def cache_page_path(folder: Path) -> Path:
    """Where the page of a run without ``timeline.html`` is rendered: a cache folder
    (``$XDG_CACHE_HOME/autoagent/timelines/``), never the run folder, which ``runs show``
    only reads."""
    import hashlib

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8", "backslashreplace"))
    return Path(base) / "autoagent" / "timelines" / f"{folder.name}-{digest.hexdigest()[:12]}.html"


def html_path(folder: Path, settings: Any) -> Path:
    """The run's ``timeline.html``; when missing, a page rendered from ``events.jsonl``
    into the cache folder (see :func:`cache_page_path`)."""
    path = folder / HTML
    if path.exists():
        return path
    from autoagent_core.atomic import atomic_write_bytes
    from autoagent_plugins.timeline.html import render_html
    from autoagent_plugins.timeline.original_runs import is_original_events

    if is_original_events(folder / EVENTS):
        from autoagent_plugins.timeline.html import render_text_page

        page = render_text_page(f"run {folder.name}", markdown_of(folder, settings))
    else:
        page = _render_from_events(folder, settings, HTML, render_html)
    target = cache_page_path(folder)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, page.encode("utf-8", "backslashreplace"), fsync=False)
    except OSError as exc:
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def _render_from_events(folder: Path, settings: Any, missing: str,
                        render: Callable[[list[dict[str, Any]]], str]) -> str:
    """Render a run's ``events.jsonl`` (redacted) for a file the run did not write."""
    try:
        events = read_events(folder)
    except FileNotFoundError:
        raise NotFoundError(f"run {folder.name} has no {missing} and no events.jsonl") \
            from None
    from autoagent_core.redact import redactor_for
    from autoagent_plugins.timeline.model import scrub

    redactor = redactor_for(settings)
    return redactor.text(render(scrub(redactor, events)))
