"""The ``filesystem`` session store: one JSON file per session in ``.sessions/``.

Layout (compatible with the original AutoAgent's ``.sessions/``)::

    .sessions/
      index.json          {"schema_version": 1, "sessions": {id: row}}  (compacted snapshot)
      index.journal       rows appended by saves since the last compaction (JSON lines)
      <session_id>.json   the whole session, with "schema_version"
      .index.lock         held around index updates
      .locks/<id>.lock    flock held by the run that has the session open

* Every session file is written atomically (temp file, fsync, rename) after its content
  went through the redactor, so no secret reaches the disk.
* A save costs one session file plus one journal line: nothing proportional to the number
  of sessions in the store (see :mod:`autoagent_plugins.fs_sessions.index`).
* A corrupt session file is reported by name and set aside; the rest keeps working and
  the index can be rebuilt from the files (``sessions list --rebuild``).
* Session ids are validated before any path is built, and paths must stay inside the
  directory (symlinks that lead out are refused).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core import atomic
from autoagent_core.errors import (
    ConflictError,
    NotFoundError,
    StorageError,
    UsageError,
)
from autoagent_core.names import contained_path, validate_session_id
from autoagent_core.types import (
    SESSION_SCHEMA_VERSION,
    Session,
    SessionSummary,
    utc_now,
)
from autoagent_plugins.fs_sessions.codec import RedactingEncoder, session_document
from autoagent_plugins.fs_sessions.index import (
    COMPACT_MIN_BYTES,
    INDEX_NAME,
    CorruptIndexError,
    SessionIndex,
)
from autoagent_plugins.fs_sessions.schema import (
    EXPORT_FORMAT,
    MAX_IMPORT_BYTES,
    SchemaError,
    index_row,
    session_from_data,
    summary_from_row,
    unwrap_export,
)

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.redact import Redactor

LOCKS_DIR = ".locks"


def _warn(message: str) -> None:
    from autoagent_core.terminal_text import safe_text

    print(f"autoagent: warning: {safe_text(message)}", file=sys.stderr)


class FileSessionStore:
    """Sessions as JSON files in one directory (see the module docstring)."""

    def __init__(self, directory: Path, redactor: Redactor | None = None, fsync: bool = True,
                 compact_bytes: int = COMPACT_MIN_BYTES) -> None:
        self.directory = Path(directory)
        self.redactor = redactor
        self.fsync = fsync
        self.encoder = RedactingEncoder(redactor)
        self.index = SessionIndex(self.directory, fsync=fsync, compact_bytes=compact_bytes)
        self._issued: set[str] = set()

    # ------------------------------------------------------------------ paths
    def path_of(self, session_id: str) -> Path:
        """The file of a session; the id is validated before any filesystem call."""
        validate_session_id(session_id)
        return contained_path(self.directory, f"{session_id}.json")

    def _lock_path(self, session_id: str) -> Path:
        validate_session_id(session_id)
        return contained_path(self.directory / LOCKS_DIR, f"{session_id}.lock")

    # ------------------------------------------------------------------ serialising
    def _serialise(self, session: Session) -> dict[str, Any]:
        """The document written to disk: redacted, with ``schema_version``."""
        return self.encoder.redact(session_document(session))

    def _encode(self, session: Session) -> tuple[dict[str, Any], bytes]:
        """The redacted document and the bytes of its file."""
        return self.encoder.encode(session_document(session))

    def _write(self, path: Path, raw: bytes, exclusive: bool) -> None:
        """Write a session file atomically; with ``exclusive``, fail if it exists
        (the complete temp file is hard-linked into place, which refuses to replace)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not exclusive:
            atomic.atomic_write_bytes(path, raw, fsync=self.fsync)
            return
        tmp = self.directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        atomic.atomic_write_bytes(tmp, raw, fsync=self.fsync)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ConflictError(f"session '{path.stem}' already exists") from None
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _row_of(self, session: Session) -> dict[str, Any]:
        """The index row of a session read from disk (only the task needs redacting)."""
        task = self.redactor.text(session.task) if self.redactor is not None else session.task
        row = index_row({"task": task, "status": session.status, "turns": session.turns,
                         "created_at": session.created_at,
                         "updated_at": session.updated_at, "model": session.model})
        row["turns"] = session.turn_count
        return row

    def _original_turns(self, sid: str, row: Any) -> None:
        """An index row the original AutoAgent wrote has no turn count: take its session's
        ``metadata.total_turns`` (read only; the index is left as it is)."""
        if not isinstance(row, dict) or type(row.get("turns")) is int:
            return
        try:
            meta = atomic.read_json(self.path_of(sid)).get("metadata")
        except (OSError, UsageError, StorageError, atomic.CorruptFileError, AttributeError):
            return
        total = meta.get("total_turns") if isinstance(meta, dict) else None
        if type(total) is int:
            row["turns"] = total

    # ------------------------------------------------------------------ protocol
    def new_id(self) -> str:
        """``YYYYMMDD-HHMMSS-xxxxxx`` (UTC time, 24 random bits): sortable by time, and
        unique across processes; an id whose file exists is never handed out."""
        for _ in range(64):
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            sid = f"{stamp}-{secrets.token_hex(3)}"
            if sid not in self._issued and not (self.directory / f"{sid}.json").exists():
                self._issued.add(sid)
                return sid
        raise StorageError(f"cannot find a free session id in {self.directory}")

    def create(self, session: Session) -> None:
        path = self.path_of(session.id)
        data, raw = self._encode(session)
        self._write(path, raw, exclusive=True)
        self._put_row(session.id, {**index_row(data), "path": str(path.absolute())})

    def save(self, session: Session) -> None:
        """Write the whole session (atomic) and append its index row. Sets
        ``session.updated_at`` to now."""
        path = self.path_of(session.id)
        session.updated_at = utc_now()
        data, raw = self._encode(session)
        self._write(path, raw, exclusive=False)
        self._put_row(session.id, {**index_row(data), "path": str(path.absolute())})

    def load(self, session_id: str) -> Session:
        path = self.path_of(session_id)
        try:
            data = atomic.read_json(path)
        except FileNotFoundError:
            raise NotFoundError(
                f"no session '{session_id}' in {self.directory}") from None
        except atomic.CorruptFileError as exc:
            raise self._set_aside(path, str(exc).split(": ", 1)[-1]) from None
        try:
            return session_from_data(data, fallback_id=session_id)
        except SchemaError as exc:
            raise self._set_aside(path, str(exc)) from None

    def _set_aside(self, path: Path, reason: str) -> StorageError:
        """Move a corrupt session file away and drop its index row; returns the error
        that names it, for the caller to raise."""
        moved = atomic.set_aside(path)
        with contextlib.suppress(StorageError):
            self._put_row(path.stem, None)
        return StorageError(
            f"session file {path} is corrupt ({reason}); it was set aside as {moved.name}"
        )

    def list_sessions(self, status: str | None = None) -> list[SessionSummary]:
        """Index rows, most recently updated first. A store with session files but no
        index (an older layout) is indexed on first use; a corrupt index is set aside
        and rebuilt from the files."""
        try:
            rows = self.index.read()
        except CorruptIndexError as exc:
            moved = atomic.set_aside(self.index.index_path)
            _warn(f"{exc}; set aside as {moved.name}, rebuilding the index from the files")
            self.rebuild_index()
            rows = self.index.read()
        if not self.index.index_path.exists() and self.directory.is_dir():
            self.rebuild_index()  # first use of an older layout, or index.json was removed
            rows = self.index.read()
        out = []
        for sid, row in rows.items():
            self._original_turns(sid, row)
            summary = summary_from_row(sid, row)
            if summary is not None and (status is None or summary.status == status):
                out.append(summary)
        out.sort(key=lambda s: (s.updated_at, s.id), reverse=True)
        return out

    def _put_row(self, session_id: str, row: dict[str, Any] | None) -> None:
        """Record a session's index row (``None``: it is gone). A store without
        ``index.json`` is indexed from its files first, so the journal always extends a
        snapshot that knows every session."""
        if not self.index.index_path.exists():
            self.rebuild_index()
        if row is None:
            self.index.remove(session_id)
        else:
            self.index.put(session_id, row)

    def delete(self, session_id: str) -> None:
        """Remove a session; refused while a run has it open."""
        path = self.path_of(session_id)
        if not path.exists() and session_id not in self.index.read():
            raise NotFoundError(f"no session '{session_id}' in {self.directory}")
        with self._held(session_id):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass  # only its index row was left
            except OSError as exc:
                raise StorageError(f"cannot delete {path}: {exc.strerror or exc}") from None
            self._put_row(session_id, None)
            with contextlib.suppress(OSError):
                os.unlink(self._lock_path(session_id))

    def open_exclusive(self, session_id: str) -> contextlib.AbstractContextManager[None]:
        """Hold the session's flock for the life of a run. A second holder gets
        :class:`ConflictError` at once; the OS drops the lock when the process dies.
        Opening a session also removes temp files left by killed writers."""
        validate_session_id(session_id)
        atomic.clean_stale_temps(self.directory)
        return self._held(session_id)

    @contextlib.contextmanager
    def _held(self, session_id: str) -> Iterator[None]:
        """The session's flock, taken without waiting (see :meth:`open_exclusive`)."""
        import fcntl

        lock_path = self._lock_path(session_id)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open {lock_path}: {exc.strerror or exc}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                who = f" (pid {holder})" if holder.isdigit() else ""
                raise ConflictError(
                    f"session '{session_id}' is open in another run{who}; "
                    "wait for it to finish or use another session id"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def export(self, session_id: str) -> dict[str, Any]:
        """One self-contained JSON object: a format marker, ``schema_version`` and the
        whole session (redacted again, in case the file predates redaction)."""
        session = self.load(session_id)
        return {
            "format": EXPORT_FORMAT,
            "schema_version": SESSION_SCHEMA_VERSION,
            "exported_at": utc_now(),
            "session": self._serialise(session),
        }

    def import_(self, data: dict[str, Any], overwrite: bool = False) -> Session:
        """Validate an export (or a bare session file, also the original's) and store it.
        Raises :class:`UsageError` saying what is wrong, :class:`ConflictError` when the
        id exists and ``overwrite`` is false."""
        from autoagent_core.protocol.json_scan import nonfinite_paths

        bad = nonfinite_paths(data)
        if bad:
            raise UsageError(f"invalid session file: {bad[0]}: NaN, Infinity or a number out "
                             "of range")
        try:
            session = session_from_data(unwrap_export(data))
        except SchemaError as exc:
            raise UsageError(f"invalid session file: {exc}") from None
        path = self.path_of(session.id)
        document, raw = self._encode(session)
        if len(raw) > MAX_IMPORT_BYTES:
            raise UsageError(
                f"invalid session file: the session is larger than "
                f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB")
        if overwrite:
            with self._held(session.id):
                self._write(path, raw, exclusive=False)
        else:
            try:
                self._write(path, raw, exclusive=True)
            except ConflictError:
                raise ConflictError(
                    f"session '{session.id}' already exists; import with overwrite "
                    "(--overwrite) to replace it"
                ) from None
        self._put_row(session.id, index_row(document))
        return session

    def rebuild_index(self) -> list[str]:
        """Re-read every session file into a fresh index; corrupt files are set aside
        (and named on stderr). Returns the names of the files set aside."""
        set_aside: list[str] = []
        rows: dict[str, dict[str, Any]] = {}
        if not self.directory.is_dir():
            return set_aside
        atomic.clean_stale_temps(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic.locked(self.index.lock_path):
            with os.scandir(self.directory) as it:
                names = sorted(e.name for e in it if e.name.endswith(".json") and e.is_file())
            for name in names:
                sid = name[: -len(".json")]
                if name == INDEX_NAME:
                    continue
                try:
                    validate_session_id(sid)
                except UsageError:
                    continue
                path = self.directory / name
                try:
                    data = session_from_data(atomic.read_json(path), fallback_id=sid)
                except FileNotFoundError:
                    continue
                except (atomic.CorruptFileError, SchemaError) as exc:
                    moved = atomic.set_aside(path)
                    _warn(f"session file {path} is corrupt ({exc}); set aside as {moved.name}")
                    set_aside.append(name)
                    continue
                rows[sid] = self._row_of(data)
            self.index.replace_all(rows)
        return set_aside


def open_store(settings: Settings) -> FileSessionStore:
    from autoagent_core.redact import redactor_for

    # redactor_for covers the config file's secrets too, also when overridden for this run
    redactor = redactor_for(settings)
    return FileSessionStore(settings.path("sessions_dir"), redactor=redactor)

