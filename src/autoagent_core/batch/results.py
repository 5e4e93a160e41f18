"""RESULTS.jsonl: one line per finished task, appended and flushed (and fsync-ed) as it
finishes, so a crash, a Ctrl-C or a ``kill -9`` loses at most the tasks in flight.

Fields: ``id``, ``session_id``, ``status`` (``completed``, ``failed`` or ``interrupted``),
``answer``, ``turns``, ``usage``, ``duration_s``, ``tools_created``, ``tools_used``,
``error``. Rerunning with the same RESULTS skips ids whose last line is ``completed`` or
``failed``; ``interrupted`` ones always run again, ``failed`` ones with ``--retry-failed``.
A last line cut by a crash (no newline, not JSON) is ended with a newline and ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from autoagent_core.atomic import open_owned_nofollow
from autoagent_core.errors import StorageError

RESULT_FIELDS = ("id", "session_id", "status", "answer", "turns", "usage", "duration_s",
                 "tools_created", "tools_used", "error")
DONE_STATUSES = ("completed", "failed")


def last_statuses(path: Path) -> dict[str, str]:
    """The status of the last line of each id in ``path`` (empty when there is none)."""
    statuses: dict[str, str] = {}
    try:
        with open(open_owned_nofollow(path, os.O_RDONLY), "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return statuses
    except OSError as exc:
        raise StorageError(f"cannot read the results file {path}: {exc.strerror}") from None
    for raw in text.splitlines():
        try:
            row = json.loads(raw)
        except ValueError:
            continue  # a line cut by a crash
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            statuses[row["id"]] = str(row.get("status"))
    return statuses


class ResultsFile:
    """Appends result lines; each is written whole, flushed and fsync-ed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> ResultsFile:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = open_owned_nofollow(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
            self._fh = open(fd, "ab+")
            self._cut_partial_line(self._fh)
        except OSError as exc:
            raise StorageError(f"cannot open the results file {self.path}: "
                               f"{exc.strerror or exc}") from None
        return self

    @staticmethod
    def _cut_partial_line(fh: IO[bytes]) -> None:
        """A line a crash cut short (no final newline) is ended, so the next result starts
        on a line of its own; readers skip the cut line (it is not JSON)."""
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) != b"\n":
            fh.write(b"\n")
            fh.flush()

    def append(self, row: dict[str, Any]) -> None:
        assert self._fh is not None
        line = {key: row.get(key) for key in RESULT_FIELDS}
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self._fh.write(data)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise StorageError(f"cannot write the results file {self.path}: "
                               f"{exc.strerror or exc}") from None

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
