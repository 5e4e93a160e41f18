"""``events.jsonl``: one JSON object per event, written as it happens.

Each event is one ``os.write`` of one complete line on a file opened with ``O_APPEND``,
so a run killed with ``kill -9`` leaves every event emitted before the kill, each on a
whole line (the kernel has the bytes once ``write`` returns). ``fsync`` (which protects
against a power cut, not a kill, and costs about a millisecond) runs at most once a
second, always for the events that end a run, and at close when something was written
since.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from autoagent_core.atomic import open_owned_nofollow
from autoagent_core.errors import StorageError
from autoagent_core.types import Event
from autoagent_plugins.timeline.base import event_dict, make_redactor
from autoagent_plugins.timeline.model import scrub

FILENAME = "events.jsonl"
FSYNC_INTERVAL_S = 1.0
FSYNC_KINDS = frozenset({"run_finished", "interrupted", "error"})


class JsonlRecorder:
    """Appends every event to ``events.jsonl`` and flushes it to the kernel at once."""

    def __init__(self, settings: Any, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / FILENAME
        self.redactor = make_redactor(settings)
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = open_owned_nofollow(self.path)
        except OSError as exc:
            raise StorageError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        self._last_fsync = time.monotonic()
        self._unsynced = False

    def handle(self, event: Event) -> None:
        if self._fd is None:
            return
        data = scrub(self.redactor, event_dict(event))
        line = json.dumps(data, ensure_ascii=False, default=str)
        # a second pass over the serialised line catches a secret split across escapes
        line = self.redactor.text(line) + "\n"
        payload = memoryview(line.encode("utf-8", "backslashreplace"))
        while payload:
            written = os.write(self._fd, payload)
            payload = payload[written:]
        self._unsynced = True
        now = time.monotonic()
        if data.get("kind") in FSYNC_KINDS or now - self._last_fsync >= FSYNC_INTERVAL_S:
            self._fsync(now)

    def _fsync(self, now: float) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
        self._last_fsync = now
        self._unsynced = False

    def close(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._unsynced:
                os.fsync(fd)
        finally:
            os.close(fd)


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of an ``events.jsonl`` (a line that does not parse, such as a
    half-written last line, is skipped)."""
    events: list[dict[str, Any]] = []
    try:
        with path.open("rb") as fh:
            for raw in fh:
                try:
                    value = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(value, dict):
                    events.append(value)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return events
