"""Apply a call's staged layer to the working directory, after the checks of WORKSPACE.md.

Refused, each with its reason in the result (a refusal never fails the call): any path with
a component that starts with ``.``; symlinks, hard links, FIFOs, sockets and devices;
set-uid/set-gid bits; mode changes of existing entries (the content is still written, with
the file's own mode); anything under a protected path; files beyond the per-call quota of
files and bytes; a path where the working directory now holds a link or another kind of
entry; a name holding a secret's value; a name of autoagent's own packages (``python -m
autoagent_core`` finds a package in the working directory before the installed one). Each
file is committed atomically (moved or copied to a temporary name, then renamed over the
old one) through descriptors opened without following links, after what it replaces is
kept in the undo journal.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.sandbox.staging.layer import StagingLayer, is_opaque, is_whiteout
from autoagent_core.sandbox.staging.nofollow import (
    PathBlocked,
    install_file,
    lstat_at,
    parent_dir,
    sha256_at,
    sha256_file,
)
from autoagent_core.sandbox.staging.undo import UndoJournal

DOT = "autoagent never lets a tool create or change dot-files"
LINK = "links are never written to the working directory"
HARD_LINK = "hard links are never written to the working directory"
SPECIAL = "FIFOs, sockets and devices are never written to the working directory"
SETID = "set-uid and set-gid files are never written"
MODE = "mode changes of existing files and folders are not applied"
PROTECTED = "autoagent's own folders are read-only to tools"
ODD_NAME = "names with control characters or bytes that are not UTF-8 are never written"
OWN_PACKAGES = ("autoagent_core", "autoagent_plugins")
OWN_NAME = ("names of autoagent's own packages are never written (`python -m autoagent_core` "
            "in this folder would run them)")
SECRET_NAME = ("names holding a secret's value are never written (the undo journal and the "
               "results would keep it)")


def _plain_name(name: str) -> bool:
    """Printable UTF-8 (a name read with surrogate escapes is not)."""
    if not name.isprintable():
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class Commit:
    """One call's commit: walk the layer, apply what passes, note what does not."""

    layer: StagingLayer
    max_files: int
    max_bytes: int
    protected: list[str]  # relative POSIX paths inside the working directory
    journal: Callable[[], UndoJournal | None]
    secrets: tuple[str, ...] = ()  # values a committed path may not hold
    files: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    _bytes: int = 0
    _written: int = 0

    @property
    def root(self) -> str:
        return str(self.layer.workdir)

    def run(self) -> None:
        self._walk("")

    # ------------------------------------------------------------------ walking
    def _walk(self, rel_dir: str) -> None:
        folder = os.path.join(str(self.layer.upper), rel_dir) if rel_dir else str(
            self.layer.upper)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self._refuse(rel_dir or ".", f"the staged folder could not be read: {exc.strerror}")
            return
        if rel_dir and is_opaque(folder):
            self._delete_absent(rel_dir, {e.name for e in entries})
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                self._entry(rel, entry.path, entry.name)
            except PathBlocked as exc:
                self._refuse(rel, str(exc))
            except OSError as exc:
                self._refuse(rel, f"not written: {exc.strerror or exc}")

    def _entry(self, rel: str, path: str, name: str) -> None:
        if not _plain_name(name):
            return self._refuse(ascii(rel)[1:-1], ODD_NAME)
        if name.startswith("."):
            return self._refuse(rel, DOT)
        if any(value in name for value in self.secrets):
            return self._refuse(rel, SECRET_NAME)
        if any(name == own or name.startswith(own + ".") for own in OWN_PACKAGES):
            return self._refuse(rel, OWN_NAME)
        if any(rel == p or rel.startswith(p + "/") for p in self.protected):
            return self._refuse(rel, PROTECTED)
        st = os.lstat(path)
        mode = st.st_mode
        if is_whiteout(st):
            return self._delete(rel)
        if stat.S_ISDIR(mode):
            return self._folder(rel, path, st)
        if stat.S_ISLNK(mode):
            return self._refuse(rel, LINK)
        if not stat.S_ISREG(mode):
            return self._refuse(rel, SPECIAL)
        if st.st_nlink > 1:
            return self._refuse(rel, HARD_LINK)
        if mode & (stat.S_ISUID | stat.S_ISGID):
            return self._refuse(rel, SETID)
        return self._file(rel, path, st)

    def _folder(self, rel: str, path: str, st: os.stat_result) -> None:
        name = rel.rsplit("/", 1)[-1]
        with parent_dir(self.root, rel, create=True, created=self._made()) as dir_fd:
            current = lstat_at(dir_fd, name)
            if current is None:
                os.mkdir(name, 0o755, dir_fd=dir_fd)
                self._record_dir(rel)
            elif not stat.S_ISDIR(current.st_mode):
                return self._refuse(rel, "the working directory has a file or link there")
            elif stat.S_IMODE(current.st_mode) != stat.S_IMODE(st.st_mode):
                self._refuse(rel, MODE)
        self._walk(rel)

    def _file(self, rel: str, path: str, st: os.stat_result) -> None:
        size = st.st_size
        if self._written + 1 > self.max_files or self._bytes + size > self.max_bytes:
            return self._refuse(rel, f"over the per-call write quota ({self.max_files} files, "
                                     f"{self.max_bytes // (1024 * 1024)} MB; settings "
                                     "tool_write_max_files, tool_write_max_mb)")
        name = rel.rsplit("/", 1)[-1]
        after = sha256_file(path)
        with parent_dir(self.root, rel, create=True, created=self._made()) as dir_fd:
            current = lstat_at(dir_fd, name)
            kept: str | None = None
            wanted = stat.S_IMODE(st.st_mode)
            if current is None:
                change, mode = "new", wanted & 0o755 | 0o600
            elif stat.S_ISREG(current.st_mode):
                mode = stat.S_IMODE(current.st_mode)
                if wanted != mode:
                    self._refuse(rel, MODE)
                if sha256_at(dir_fd, name) == after:
                    return None  # copied up, unchanged
                change = "modified"
                journal = self.journal()
                kept = journal.keep(dir_fd, name) if journal is not None else None
            else:
                return self._refuse(rel, "the working directory has a folder, link or special "
                                         "file there")
            install_file(path, dir_fd, name, mode)
        self._written += 1
        self._bytes += size
        self.files.append({"path": rel, "bytes": size, "change": change})
        self._journal({"path": rel, "change": change, "after": after, "kept": kept,
                       "mode": mode})
        return None

    # ------------------------------------------------------------------ deletions
    def _delete(self, rel: str) -> None:
        name = rel.rsplit("/", 1)[-1]
        with parent_dir(self.root, rel) as dir_fd:
            current = lstat_at(dir_fd, name)
            if current is None:
                return
            if stat.S_ISDIR(current.st_mode):
                fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
                try:
                    names = os.listdir(fd)
                finally:
                    os.close(fd)
                self._delete_absent(rel, set(), names)
                with contextlib.suppress(OSError):  # something refused in it: it stays
                    os.rmdir(name, dir_fd=dir_fd)
                return
            if not stat.S_ISREG(current.st_mode):
                return self._refuse(rel, "only regular files are deleted from the working "
                                         "directory")
            journal = self.journal()
            kept = journal.keep(dir_fd, name) if journal is not None else None
            os.unlink(name, dir_fd=dir_fd)
        self.files.append({"path": rel, "bytes": 0, "change": "deleted"})
        self._journal({"path": rel, "change": "deleted", "after": None, "kept": kept,
                       "mode": stat.S_IMODE(current.st_mode)})

    def _delete_absent(self, rel_dir: str, present: set[str],
                       names: list[str] | None = None) -> None:
        """Delete what the real folder ``rel_dir`` holds beyond ``present`` (the tool
        replaced the folder, or deleted it)."""
        if names is None:
            try:
                with parent_dir(self.root, rel_dir + "/x") as dir_fd:
                    names = os.listdir(dir_fd)
            except (PathBlocked, OSError):
                return
        for name in sorted(set(names) - present):
            rel = f"{rel_dir}/{name}"
            if name.startswith("."):
                self._refuse(rel, DOT)
                continue
            try:
                self._delete(rel)
            except (PathBlocked, OSError) as exc:
                self._refuse(rel, f"not deleted: {exc}")

    # ------------------------------------------------------------------ bookkeeping
    def _made(self) -> list[str]:
        return _Recorder(self)

    def _record_dir(self, rel: str) -> None:
        self._journal({"path": rel, "change": "new_dir", "after": None, "kept": None})

    def _journal(self, entry: dict[str, Any]) -> None:
        journal = self.journal()
        if journal is not None:
            journal.record({"workdir": self.root, **entry})

    def _refuse(self, rel: str, reason: str) -> None:
        self.refused.append({"path": rel, "reason": reason})


class _Recorder(list[str]):
    """The ``created`` list of :func:`parent_dir`: each folder made is journaled."""

    def __init__(self, commit: Commit) -> None:
        super().__init__()
        self.commit = commit

    def append(self, rel: str) -> None:
        super().append(rel)
        self.commit._record_dir(rel)


def commit_layer(layer: StagingLayer, max_files: int, max_bytes: int, protected: list[str],
                 journal: Callable[[], UndoJournal | None],
                 secrets: tuple[str, ...] = ()) -> Commit:
    """Commit ``layer`` to its working directory; the :class:`Commit` holds ``files`` and
    ``refused``. A name holding one of ``secrets`` is refused."""
    commit = Commit(layer, max_files, max_bytes, protected, journal, secrets)
    try:
        commit.run()
    finally:
        undo = journal()
        if undo is not None:
            undo.flush()
    return commit
