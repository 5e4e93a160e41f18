"""The runs of the log folder, summarised for the Runs page (either event shape).

A summary reads the first lines of ``events.jsonl`` (the task) and its last 256 KB (the
``run_finished`` event, with status, turns and tokens), so the page stays quick however long
the runs are. A run that never finished counts its turns from the lines it has.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autoagent_core.rundir import run_dir_sort_key
from autoagent_plugins.dashboard.run_events import EVENTS

HEAD_LINES = 50
TAIL_BYTES = 256 * 1024
FOLDER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass
class RunSummary:
    """One row of the Runs page."""

    folder: str
    started: str
    status: str
    task: str
    turns: int
    tokens: int
    session_id: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _loads(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _kind(event: dict[str, Any]) -> str:
    return str(event.get("kind") or event.get("etype") or "")


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _started_of(folder: str) -> str:
    match = re.match(r"^(\d{4}-\d{2}-\d{2})_(\d{2})-(\d{2})-(\d{2})", folder)
    return f"{match.group(1)} {match.group(2)}:{match.group(3)}:{match.group(4)}" if match else ""


def _head(path: Path, summary: RunSummary) -> None:
    with path.open("rb") as fh:
        for _ in range(HEAD_LINES):
            raw = fh.readline()
            if not raw:
                return
            event = _loads(raw)
            if event is None:
                continue
            kind, data = _kind(event), _data(event)
            if kind == "run_started" and "kind" in event:
                summary.task = str(data.get("task") or "")
                summary.session_id = str(data.get("session_id") or "")
                ts = event.get("ts")
                if isinstance(ts, int | float):
                    summary.started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
                return
            if kind == "user_message" and not summary.task:  # the original's task
                summary.task = str(data.get("content") or event.get("summary") or "")
            elif kind == "run_started" and not summary.task:
                summary.task = str(event.get("summary") or "").removeprefix("task=")
            elif kind == "session_resumed":
                summary.session_id = str(event.get("summary") or "").removeprefix("session_id=")


def _tail(path: Path, summary: RunSummary) -> bool:
    """Status, turns and tokens from the last ``run_finished``; False when there is none."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - TAIL_BYTES))
        lines = fh.read().splitlines()
    highest_turn = 0
    for raw in reversed(lines):
        event = _loads(raw)
        if event is None:
            continue
        turn = event.get("turn")
        if isinstance(turn, int):
            highest_turn = max(highest_turn, turn)
        if _kind(event) != "run_finished":
            continue
        data = _data(event)
        if "kind" in event:
            summary.status = str(data.get("status") or "finished")
            turns = data.get("turns")
            summary.turns = turns if isinstance(turns, int) else 0
            usage = data.get("usage")
            tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
            summary.tokens = tokens if isinstance(tokens, int) else 0
        else:
            summary.status = "finished"
            summary.turns = highest_turn
        return True
    return False


def _count_turns(path: Path, summary: RunSummary) -> None:
    turns, status = 0, "running"
    with path.open("rb") as fh:
        for raw in fh:
            head = raw[:120]
            if b'"kind": "turn_started"' in head:
                turns += 1
            elif b'"kind": "interrupted"' in head:
                status = "interrupted"
            elif b'"kind": "error"' in head:
                status = "failed"
            elif b'"etype"' in raw[:200]:
                event = _loads(raw)
                turn = event.get("turn") if event else None
                if isinstance(turn, int):
                    turns = max(turns, turn)
    summary.turns, summary.status = turns, status


def summarise_run(folder: Path) -> RunSummary:
    summary = RunSummary(folder.name, _started_of(folder.name), "unknown", "", 0, 0, "")
    path = folder / EVENTS
    try:
        _head(path, summary)
        if not _tail(path, summary):
            _count_turns(path, summary)
    except FileNotFoundError:
        summary.status = "no events"
    except OSError:
        summary.status = "unreadable"
    return summary


def run_folders(log_dir: Path) -> list[Path]:
    """Every run folder (a real directory, not a link), newest first."""
    try:
        entries = [Path(entry.path) for entry in os.scandir(log_dir)
                   if entry.is_dir(follow_symlinks=False) and FOLDER_RE.match(entry.name)]
    except OSError:
        return []
    return sorted(entries, key=lambda p: run_dir_sort_key(p.name), reverse=True)


def list_runs(log_dir: Path) -> list[RunSummary]:
    return [summarise_run(folder) for folder in run_folders(log_dir)]


def run_folder(log_dir: Path, name: str) -> Path | None:
    """The folder of run ``name`` inside ``log_dir``; None for anything else."""
    if not FOLDER_RE.match(name):
        return None
    path = log_dir / name
    if path.is_symlink() or not path.is_dir():
        return None
    return path


def latest_run(log_dir: Path) -> Path | None:
    folders = run_folders(log_dir)
    return folders[0] if folders else None
