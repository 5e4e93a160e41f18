"""The files tools wrote, as the runs report them, and opening one safely.

A ``tool_run`` event lists the files its call committed (``files: [{"path", "bytes",
"change"}]``, paths relative to the run's working directory, which ``run_started`` records
as ``workdir``). The dashboard serves a file only when the run lists it and it still
resolves inside that working directory: each path component is opened with ``O_NOFOLLOW``
relative to the one before (no symlink anywhere, no ``..``, no dot-file), and the end must
be a regular file. Runs of the original AutoAgent add their ``final/`` answers.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from autoagent_plugins.dashboard.run_events import EVENTS, files_of, parse_lines

MAX_SERVED_BYTES = 64 * 1024 * 1024
FINAL = "final"
_FILES_MARK = b'"files"'
_STARTED_MARK = b'"run_started"'


class FileRefused(Exception):
    """The file is not one the dashboard serves (the message says why)."""


@dataclass
class ProducedFile:
    """One file a tool call wrote (or an original run's final answer)."""

    run: str
    path: str
    bytes: int | None
    change: str
    tool: str
    seq: int
    kind: str  # image | audio | video | html | json | text | other

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kind_of(path: str) -> str:
    mime = mimetypes.guess_type(path)[0] or ""
    suffix = PurePosixPath(path).suffix.lower()
    if mime.startswith(("image/", "audio/", "video/")):
        return mime.split("/", 1)[0]
    if suffix in (".html", ".htm"):
        return "html"
    if suffix in (".json", ".jsonl", ".geojson"):
        return "json"
    if mime.startswith("text/") or suffix in (".txt", ".md", ".csv", ".log", ".py", ".xml",
                                              ".yaml", ".yml", ".toml", ".ini"):
        return "text"
    return "other"


def workdir_of(folder: Path) -> Path | None:
    """The working directory the run recorded in its ``run_started`` event."""
    try:
        with (folder / EVENTS).open("rb") as fh:
            for _ in range(50):
                raw = fh.readline()
                if not raw:
                    break
                if _STARTED_MARK in raw[:200]:
                    events, _ = parse_lines(raw if raw.endswith(b"\n") else raw + b"\n", 0, 0)
                    workdir = events[0].data.get("workdir") if events else None
                    return Path(workdir) if isinstance(workdir, str) and workdir else None
    except OSError:
        return None
    return None


def run_files(folder: Path) -> list[ProducedFile]:
    """Every file the run's tool calls wrote (the last report of a path wins), then the
    original's final answers."""
    found: dict[str, ProducedFile] = {}
    try:
        with (folder / EVENTS).open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if _FILES_MARK not in raw:
                    continue
                events, _ = parse_lines(raw if raw.endswith(b"\n") else raw + b"\n", 0, 0)
                for event in events:
                    for item in files_of(event.data):
                        size = item.get("bytes")
                        found[item["path"]] = ProducedFile(
                            folder.name, item["path"], size if isinstance(size, int) else None,
                            str(item.get("change") or "new"), str(event.data.get("name") or ""),
                            event.seq if event.seq else number, kind_of(item["path"]))
    except OSError:
        pass
    out = [f for f in found.values() if f.change != "deleted"]
    out += final_answers(folder)
    return out


def final_answers(folder: Path) -> list[ProducedFile]:
    try:
        names = sorted(entry.name for entry in os.scandir(folder / FINAL)
                       if entry.is_file(follow_symlinks=False))
    except OSError:
        return []
    return [ProducedFile(folder.name, f"{FINAL}/{name}", None, "answer", "final answer", 0,
                         kind_of(name)) for name in names]


def _parts(relative: str) -> list[str]:
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith("/"):
        raise FileRefused("not a relative path")
    parts = relative.split("/")
    for part in parts:
        if part in ("", ".", "..") or part.startswith("."):
            raise FileRefused("the path has an empty, '..' or hidden component")
    return parts


def read_inside(base: Path, relative: str, limit: int = MAX_SERVED_BYTES,
                head: bool = False) -> bytes:
    """The bytes of ``base/relative``, walking each component with ``O_NOFOLLOW``; raises
    :class:`FileRefused` for a link, a non-regular file, a path leaving ``base`` or a file
    larger than ``limit`` (``head``: its first ``limit`` bytes instead)."""
    parts = _parts(relative)
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        dir_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileRefused(f"the working directory is gone ({exc.strerror})") from None
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, flags | os.O_DIRECTORY, dir_fd=dir_fd)
            except OSError as exc:
                raise FileRefused(f"{part}: {exc.strerror}") from None
            os.close(dir_fd)
            dir_fd = next_fd
        try:
            fd = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError as exc:
            raise FileRefused(f"{parts[-1]}: {exc.strerror}") from None
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("not a regular file")
        if info.st_size > limit and not head:
            raise FileRefused(f"larger than {limit} bytes")
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if head:
            return data[:limit]
        if len(data) > limit:
            raise FileRefused(f"larger than {limit} bytes")
        return data
    finally:
        os.close(fd)


def read_produced(folder: Path, relative: str, limit: int = MAX_SERVED_BYTES,
                  listed: bool = False, head: bool = False) -> bytes:
    """A file the run reports, read safely: a tool's output from the run's working
    directory, or a final answer from the run folder. ``listed``: the caller took
    ``relative`` from :func:`run_files` of this run already."""
    if not listed and relative not in {f.path for f in run_files(folder)}:
        raise FileRefused("the run reports no such file")
    if relative.startswith(f"{FINAL}/"):
        return read_inside(folder, relative, limit, head)
    workdir = workdir_of(folder)
    if workdir is None:
        raise FileRefused("the run recorded no working directory")
    return read_inside(workdir, relative, limit, head)
