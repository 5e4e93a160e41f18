"""The undo journal of staged commits, and ``autoagent runs undo``.

A run keeps it in its run folder (``<run>/undo/``); a call outside a run (``tools run``,
``mcp serve``) in ``<log_dir>/.tool-calls/<time>/undo/``. ``undo.jsonl`` has one line per
committed change, in order::

    {"workdir": "/home/me/proj", "path": "out/summary.json", "change": "modified",
     "after": "<sha256 of what the commit wrote>", "kept": "kept/3"}

``kept/N`` holds what the commit replaced or deleted. Undo walks the journal backwards and
puts each file back only where it still holds what the commit wrote (else it refuses that
file and says so); folders the commits made are removed when empty. An entry is followed
only when it names the current working directory, no dot-name and a kept copy of its own
folder (a cloned repository can hold a ``.runs`` folder of its making).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoagent_core.sandbox.staging.nofollow import (
    READ_FLAGS,
    PathBlocked,
    copy_fd_to,
    lstat_at,
    parent_dir,
    sha256_at,
    temp_name,
)

JOURNAL = "undo.jsonl"
DONE = "undone.json"
TOOL_CALLS = ".tool-calls"
KEPT_RE = re.compile(r"^kept/[0-9]+$")
FLUSH_EVERY = 64  # journal lines written at once (one append instead of one per file)


class UndoJournal:
    """Appends the changes of commits to ``folder`` (created at the first change)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._count: int | None = None
        self._pending: list[str] = []

    def _ready(self) -> None:
        if self._count is None:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            (self.folder / "kept").mkdir(parents=True, exist_ok=True, mode=0o700)
            self._count = sum(1 for _ in os.scandir(self.folder / "kept"))

    def keep(self, dir_fd: int, name: str) -> str:
        """Save the current content of the regular file ``name`` in ``dir_fd``; the
        journal-relative name of the copy."""
        self._ready()
        assert self._count is not None
        self._count += 1
        kept = f"kept/{self._count}"
        src = os.open(name, READ_FLAGS, dir_fd=dir_fd)
        try:
            mode = stat.S_IMODE(os.fstat(src).st_mode)
            kept_dir = os.open(self.folder / "kept", os.O_RDONLY | os.O_DIRECTORY)
            try:
                copy_fd_to(src, kept_dir, str(self._count), mode & 0o777 or 0o600)
            finally:
                os.close(kept_dir)
        finally:
            os.close(src)
        return kept

    def record(self, entry: dict[str, Any]) -> None:
        """Note a committed change; written to ``undo.jsonl`` by :meth:`flush` (every
        :data:`FLUSH_EVERY` changes and at the end of the commit)."""
        self._pending.append(json.dumps(entry, ensure_ascii=False) + "\n")
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        self._ready()
        data = "".join(self._pending).encode("utf-8")
        self._pending.clear()
        fd = os.open(self.folder / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT |
                     os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def tool_call_folder(log_dir: Path) -> Path:
    """A fresh name (not yet made: the journal makes it at the first change) for the undo
    data of a call made outside a run: ``<log_dir>/.tool-calls/<local time>-<random>``."""
    import secrets
    import time

    from autoagent_core.rundir import RUN_DIR_FORMAT

    stamp = time.strftime(RUN_DIR_FORMAT, time.localtime())
    return log_dir / TOOL_CALLS / f"{stamp}-{secrets.token_hex(3)}"


def find_undo_folder(log_dir: Path, ref: str) -> Path:
    """The undo folder of ``ref``: a run (folder name or session id) or a call outside a
    run (its ``.tool-calls`` name). Raises ``NotFoundError``."""
    from autoagent_core.errors import NotFoundError
    from autoagent_core.names import validate_session_id

    validate_session_id(ref)
    call = log_dir / TOOL_CALLS / ref
    if call.is_dir() and not call.is_symlink():
        return call / "undo"
    try:
        from autoagent_plugins.timeline.runs import find_run
    except ImportError:  # the timeline plugin is blocked: run folders by name only
        folder = log_dir / ref
        if not folder.is_dir():
            raise NotFoundError(f"no run '{ref}' in {log_dir}") from None
        return folder / "undo"
    return find_run(log_dir, ref) / "undo"


@dataclass
class UndoReport:
    """What ``runs undo`` did: lines for the user, and the files it would not touch."""

    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    already: bool = False


def read_journal(folder: Path) -> list[dict[str, Any]]:
    try:
        text = (folder / JOURNAL).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                entries.append(entry)
    return entries


def undo(folder: Path) -> UndoReport:
    """Put back what the journal in ``folder`` records, newest change first."""
    report = UndoReport()
    if (folder / DONE).exists():
        report.already = True
        return report
    here = os.path.realpath(os.getcwd())
    for entry in reversed(read_journal(folder)):
        path = entry["path"]
        if ".." in path.split("/") or path.startswith("/"):
            report.refused.append(f"{path}: not a path inside the working directory")
            continue
        if any(part.startswith(".") for part in path.split("/")):
            # a commit never writes a dot-name: a journal that names one was not written
            # by autoagent (a cloned repository's .runs, say)
            report.refused.append(f"{path}: autoagent never commits dot-files")
            continue
        workdir = entry.get("workdir")
        if not isinstance(workdir, str) or os.path.realpath(workdir) != here:
            report.refused.append(f"{path}: written in {workdir}; run `autoagent runs undo` "
                                  "from that folder")
            continue
        kept = entry.get("kept")
        if kept is not None and not (isinstance(kept, str) and KEPT_RE.match(kept)):
            report.refused.append(f"{path}: the journal names no kept copy of it")
            continue
        try:
            message = _undo_one(folder, entry)
        except PathBlocked as exc:
            message = f"!{exc}"
        except OSError as exc:
            message = f"!{exc.strerror or exc}"
        if message is None:
            continue
        if message.startswith("!"):
            report.refused.append(f"{path}: {message[1:]}")
        else:
            report.done.append(message)
    (folder / DONE).write_text(json.dumps({"done": report.done, "refused": report.refused}))
    return report


def _undo_one(folder: Path, entry: dict[str, Any]) -> str | None:
    path, change = entry["path"], entry.get("change")
    workdir = str(entry.get("workdir") or ".")
    name = path.rsplit("/", 1)[-1]
    with parent_dir(workdir, path, create=change == "deleted") as dir_fd:
        current = lstat_at(dir_fd, name)
        if change == "new_dir":
            if current is None or not stat.S_ISDIR(current.st_mode):
                return None
            try:
                os.rmdir(name, dir_fd=dir_fd)
            except OSError:
                return None  # something else is in it now: leave it
            return f"removed {path}/"
        if change == "deleted":
            if current is not None:
                return "!it exists again since the run; left as it is"
            _restore(folder, entry, dir_fd, name)
            return f"restored {path} (deleted by the run)"
        if current is None:
            return "!it was removed since the run"
        if not stat.S_ISREG(current.st_mode) or sha256_at(dir_fd, name) != entry.get("after"):
            return "!it was changed since the run; left as it is"
        if change == "new":
            os.unlink(name, dir_fd=dir_fd)
            return f"removed {path} (written by the run)"
        _restore(folder, entry, dir_fd, name)
        return f"restored {path} (overwritten by the run)"


def _restore(folder: Path, entry: dict[str, Any], dir_fd: int, name: str) -> None:
    kept = folder / str(entry.get("kept") or "")
    if not entry.get("kept") or not kept.is_file():
        raise PathBlocked("its earlier content is not kept in the run folder")
    src = os.open(kept, READ_FLAGS)
    try:
        mode = int(entry.get("mode") or stat.S_IMODE(os.fstat(src).st_mode)) & 0o777
        tmp = temp_name()
        copy_fd_to(src, dir_fd, tmp, mode)
    finally:
        os.close(src)
    os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
