"""File operations relative to a folder's descriptor that never follow a link: every path
component is opened with ``O_NOFOLLOW``, so a link placed in the working directory (by the
user, another program or a race) cannot send a commit or an undo elsewhere."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
CHUNK = 1 << 20


class PathBlocked(Exception):
    """A component of the path is a link, a file or missing where a folder is needed."""


@contextlib.contextmanager
def parent_dir(root: str, rel: str, create: bool = False,
               created: list[str] | None = None) -> Iterator[int]:
    """A descriptor of the folder holding ``rel`` (a relative POSIX path) under ``root``;
    with ``create``, missing folders are made (mode 0755) and their paths appended to
    ``created``. Raises :class:`PathBlocked`."""
    parts = rel.split("/")[:-1]
    try:
        fd = os.open(root, DIR_FLAGS)
    except OSError as exc:
        raise PathBlocked(f"cannot open the working directory: {exc.strerror}") from None
    try:
        for n, part in enumerate(parts):
            try:
                nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise PathBlocked(f"{'/'.join(parts[:n + 1])} is missing") from None
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise PathBlocked(f"cannot create {'/'.join(parts[:n + 1])}: "
                                      f"{exc.strerror}") from None
                if created is not None:
                    created.append("/".join(parts[:n + 1]))
            except OSError:
                raise PathBlocked(f"{'/'.join(parts[:n + 1])} is a link or not a "
                                  "folder") from None
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def sha256_at(dir_fd: int, name: str) -> str | None:
    """The SHA-256 of the regular file ``name``, or None when it is missing or not a
    regular file."""
    import stat

    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return _sha256_fd(fd)
    finally:
        os.close(fd)


def sha256_file(path: str) -> str:
    fd = os.open(path, READ_FLAGS)
    try:
        return _sha256_fd(fd)
    finally:
        os.close(fd)


def _sha256_fd(fd: int) -> str:
    digest = hashlib.sha256()
    while chunk := os.read(fd, CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def temp_name() -> str:
    """A name for a file being written beside its final name (never a name a loader
    looks for, and renamed away at once)."""
    return f".autoagent-{secrets.token_hex(6)}.tmp"


def copy_fd_to(src_fd: int, dir_fd: int, name: str, mode: int) -> None:
    """Write the content of ``src_fd`` to a new file ``name`` in ``dir_fd``."""
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                  mode, dir_fd=dir_fd)
    try:
        os.fchmod(out, mode)
        while chunk := os.read(src_fd, CHUNK):
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view):]
    except BaseException:
        os.close(out)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        raise
    os.close(out)


def install_file(src_path: str, dir_fd: int, name: str, mode: int) -> None:
    """Put the file ``src_path`` (in autoagent's own folders) at ``name`` in ``dir_fd``,
    atomically: moved there when both are on one file system, else copied to a temporary
    name first; the rename replaces a file without following a link."""
    os.chmod(src_path, mode)
    try:
        os.rename(src_path, name, dst_dir_fd=dir_fd)
        return
    except OSError as exc:
        import errno

        if exc.errno != errno.EXDEV:
            raise
    tmp = temp_name()
    src = os.open(src_path, READ_FLAGS)
    try:
        copy_fd_to(src, dir_fd, tmp, mode)
    finally:
        os.close(src)
    try:
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
