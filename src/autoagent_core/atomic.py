"""Crash-safe files: atomic writes, cross-process locks, stale temp files, corrupt files.

* :func:`atomic_write_bytes` writes a temp file in the same directory, fsyncs it and
  ``os.replace``-s it over the target, so a reader sees the old or the new file, never a
  half-written one (RELIABILITY item 10).
* :func:`locked` holds a lock file (``filelock``) around a read-modify-write (item 11).
* Temp files are named ``.<target>.<pid>.<random>.tmp``; :func:`clean_stale_temps` removes
  those whose writer no longer runs, and leaves a live writer's alone (item 12).
* :func:`set_aside` renames a corrupt file to ``<name>.corrupt-<UTC time>`` (item 13).
* :func:`open_owned_nofollow` opens a file the CLI writes or appends to in a folder others
  (tools, other users, other programs) can write: never through a symbolic link, and only
  a regular file this user owns; anything else is a :class:`StorageError` (exit 8).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autoagent_core.errors import StorageError

_TEMP_RE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")
LOCK_TIMEOUT_S = 60.0
FILE_MAX_DEPTH = 200
"""Deepest nesting read from a store's JSON file (a tool result may nest a little)."""


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644, fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically."""
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    if fsync:
        _fsync_dir(directory)


def open_owned_nofollow(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                        mode: int = 0o644) -> int:
    """Open ``path`` (write, append or read ``flags``) without following a symbolic link in its
    place, without blocking on a FIFO, and only when it is a regular file owned by this
    user; return the descriptor (blocking mode, close-on-exec). A link, a dangling link,
    a FIFO, a device or another user's file is a :class:`StorageError`, nothing written;
    a missing file (or folder) is ``FileNotFoundError``."""
    import errno
    import fcntl
    import stat

    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StorageError(f"refusing to write {path}: it is a symbolic link") from None
        if exc.errno == errno.ENXIO:
            raise StorageError(f"refusing to write {path}: it is not a regular file") from None
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StorageError(f"refusing to write {path}: it is not a regular file")
        if info.st_uid != os.geteuid():
            raise StorageError(f"refusing to write {path}: it belongs to another user "
                               f"(uid {info.st_uid})")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def refuse_foreign_target(path: Path) -> None:
    """Before replacing ``path`` with an atomic write the user asked for (an export): a
    symbolic link, a non-regular file or another user's file in its place is a
    :class:`StorageError`; a missing file is fine."""
    import stat

    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise StorageError(f"refusing to write {path}: it is a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise StorageError(f"refusing to write {path}: it is not a regular file")
    if info.st_uid != os.geteuid():
        raise StorageError(f"refusing to write {path}: it belongs to another user "
                           f"(uid {info.st_uid})")


def dumps(data: Any) -> bytes:
    # a lone surrogate becomes the JSON escape \udXXX (inside strings only: valid JSON)
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode(
        "utf-8", "backslashreplace")


def atomic_write_json(path: Path, data: Any, fsync: bool = True) -> None:
    atomic_write_bytes(path, dumps(data), fsync=fsync)


class CorruptFileError(StorageError):
    """A JSON file that does not parse (or has the wrong shape)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is corrupt: {reason}")
        self.path = path


def read_json(path: Path) -> Any:
    """Parse a JSON file; ``FileNotFoundError`` passes through, bad JSON is
    :class:`CorruptFileError`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
    from autoagent_core.protocol import json_scan

    try:
        return json_scan.loads(raw, max_depth=FILE_MAX_DEPTH)
    except json_scan.JsonScanError as exc:
        raise CorruptFileError(path, str(exc)) from None


def read_regular_text(path: Path, max_chars: int) -> str:
    """A regular file's UTF-8 text, at most ``max_chars`` characters. Opened without
    blocking (a FIFO never hangs), checked with ``fstat`` before reading. Raises
    :class:`StorageError` for anything else: not a regular file, too large, not UTF-8."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with open(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StorageError(f"{path} is not a regular file")
        limit = 4 * max_chars  # UTF-8: at most 4 bytes a character
        if info.st_size > limit:
            raise StorageError(f"{path} is larger than {max_chars:,} characters")
        raw = fh.read(limit + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StorageError(f"{path} is not UTF-8 text") from None
    if len(text) > max_chars or len(raw) > limit:
        raise StorageError(f"{path} is larger than {max_chars:,} characters")
    return text


def set_aside(path: Path) -> Path:
    """Move a corrupt file out of the way, keeping it for the user to inspect."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise StorageError(f"cannot set aside {path}: {exc.strerror or exc}") from None
    return target


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(directory: Path) -> list[Path]:
    """Remove temp files left by writers that no longer run; return what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def locked(lock_path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive cross-process lock on ``lock_path`` (created if missing)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise StorageError(
            f"timed out after {timeout:g}s waiting for the lock {lock_path}"
        ) from None
    except OSError as exc:  # a folder without permissions (chmod 000): one error line
        raise StorageError(f"cannot lock {lock_path}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.release()
