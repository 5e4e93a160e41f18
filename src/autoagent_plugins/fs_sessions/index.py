"""The session index: ``index.json`` (a compacted snapshot) plus ``index.journal``.

Why a journal: a run saves its session after every turn. Rewriting an index of 10,000
rows on each save would make a save cost grow with the store; instead a save appends one
line (the session's new row, or a deletion) to ``index.journal`` under the index lock.
When the journal grows larger than half the snapshot (and at least ``compact_bytes``),
the saver that crossed the line folds it into ``index.json`` and empties it, so the
amortised cost of a save stays constant and the journal stays bounded.

``index.json`` keeps the original AutoAgent's shape, ``{"sessions": {id: row}}`` (plus
``schema_version``), one row per line. Readers take no lock: they read the snapshot, then
the journal, and retry when the snapshot was replaced meanwhile. Replaying a journal that
was already folded in gives the same rows (each line is a whole row; the last one wins),
so a crash between the two steps of a compaction loses nothing. A journal line cut short
by a killed writer is ignored, and the next writer starts on a fresh line.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from autoagent_core import atomic
from autoagent_core.errors import StorageError

INDEX_NAME = "index.json"
JOURNAL_NAME = "index.journal"
LOCK_NAME = ".index.lock"
INDEX_SCHEMA_VERSION = 1
COMPACT_MIN_BYTES = 256 * 1024
_READ_ATTEMPTS = 5


class CorruptIndexError(StorageError):
    """``index.json`` does not parse or has the wrong shape."""


def _dump_index(rows: dict[str, dict[str, Any]]) -> bytes:
    """``index.json`` with one row per line: readable, and quick to parse."""
    dumps = json.dumps
    lines = [f"  {dumps(sid)}: {dumps(row, ensure_ascii=False)}" for sid, row in rows.items()]
    body = ",\n".join(lines)
    text = (f'{{\n "schema_version": {INDEX_SCHEMA_VERSION},\n "sessions": {{\n'
            f"{body}\n }}\n}}\n")
    return text.encode("utf-8", "backslashreplace")


def _parse_journal(raw: bytes, rows: dict[str, dict[str, Any]]) -> None:
    """Apply journal lines to ``rows`` in order; lines that do not parse are skipped."""
    lines = [line for line in raw.split(b"\n") if line.strip()]
    if not lines:
        return
    try:  # fast path: the whole journal in one parse
        entries = json.loads(b"[" + b",".join(lines) + b"]")
    except (ValueError, UnicodeDecodeError):
        entries = []
        for line in lines:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                entries.append(json.loads(line))
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        if entry.get("deleted"):
            rows.pop(entry["id"], None)
        elif isinstance(entry.get("row"), dict):
            rows[entry["id"]] = entry["row"]


class SessionIndex:
    """Rows of every session, keyed by id, kept in ``directory``."""

    def __init__(self, directory: Path, fsync: bool = True,
                 compact_bytes: int = COMPACT_MIN_BYTES) -> None:
        self.directory = directory
        self.index_path = directory / INDEX_NAME
        self.journal_path = directory / JOURNAL_NAME
        self.lock_path = directory / LOCK_NAME
        self.fsync = fsync
        self.compact_bytes = compact_bytes

    # ------------------------------------------------------------------ reading
    def exists(self) -> bool:
        return self.index_path.exists() or self.journal_path.exists()

    def _read_snapshot(self) -> tuple[dict[str, dict[str, Any]], int | None]:
        """The snapshot's rows and the inode read (``None`` when there is no snapshot)."""
        try:
            fh = open(self.index_path, "rb")  # noqa: SIM115 - fstat needs the handle
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            raise StorageError(f"cannot read {self.index_path}: {exc.strerror or exc}") from None
        with fh:
            inode = os.fstat(fh.fileno()).st_ino
            raw = fh.read()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorruptIndexError(f"{self.index_path} is corrupt: {exc}") from None
        sessions = data.get("sessions") if isinstance(data, dict) else None
        if not isinstance(sessions, dict):
            raise CorruptIndexError(f"{self.index_path} is corrupt: no 'sessions' object")
        return sessions, inode

    def _read_journal(self) -> bytes:
        try:
            return self.journal_path.read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise StorageError(f"cannot read {self.journal_path}: {exc.strerror or exc}") from None

    def _current_inode(self) -> int | None:
        try:
            return os.stat(self.index_path).st_ino
        except FileNotFoundError:
            return None

    def read(self) -> dict[str, dict[str, Any]]:
        """Every row (snapshot + journal). Raises :class:`CorruptIndexError`."""
        for _ in range(_READ_ATTEMPTS):
            rows, inode = self._read_snapshot()
            journal = self._read_journal()
            if self._current_inode() == inode:
                _parse_journal(journal, rows)
                return rows
        # the index is being compacted again and again: read under the lock
        with atomic.locked(self.lock_path):
            rows, _ = self._read_snapshot()
            _parse_journal(self._read_journal(), rows)
            return rows

    # ------------------------------------------------------------------ writing
    def put(self, sid: str, row: dict[str, Any]) -> None:
        """Record the row of a created or saved session."""
        self._append({"id": sid, "row": row})

    def remove(self, sid: str) -> None:
        """Record that a session is gone."""
        self._append({"id": sid, "deleted": True})

    def _append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
                + "\n").encode("utf-8", "backslashreplace")
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic.locked(self.lock_path):
            try:
                fd = os.open(self.journal_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StorageError(
                    f"cannot write {self.journal_path}: {exc.strerror or exc}") from None
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a killed writer left half a line: start afresh
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                if self.fsync:
                    os.fsync(fd)
                size += len(line)
            except OSError as exc:
                raise StorageError(
                    f"cannot write {self.journal_path}: {exc.strerror or exc}") from None
            finally:
                os.close(fd)
            if size >= self._compact_threshold():
                self._compact_locked()

    def _compact_threshold(self) -> int:
        try:
            snapshot = os.stat(self.index_path).st_size
        except FileNotFoundError:
            snapshot = 0
        return max(self.compact_bytes, snapshot // 2)

    def _compact_locked(self) -> None:
        """Fold the journal into the snapshot (the caller holds the lock)."""
        try:
            rows, _ = self._read_snapshot()
        except CorruptIndexError:
            return  # leave it for rebuild_index, which reads the session files
        _parse_journal(self._read_journal(), rows)
        self._write_locked(rows)

    def _write_locked(self, rows: dict[str, dict[str, Any]]) -> None:
        atomic.atomic_write_bytes(self.index_path, _dump_index(rows), fsync=self.fsync)
        try:
            with open(self.journal_path, "r+b") as fh:
                fh.truncate(0)
                if self.fsync:
                    os.fsync(fh.fileno())
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"cannot write {self.journal_path}: {exc.strerror or exc}") from None

    def replace_all(self, rows: dict[str, dict[str, Any]]) -> None:
        """Write a complete snapshot and empty the journal (the caller holds the lock)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_locked(rows)

    def compact(self) -> None:
        with atomic.locked(self.lock_path):
            self._compact_locked()
