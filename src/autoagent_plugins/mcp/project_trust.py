"""Project trust: a ``.mcp.json`` starts nothing until the user trusted that exact file.

``autoagent mcp trust [FILE]`` records the file's absolute path and the SHA-256 of its
bytes in the user config (``[mcp_trusted_projects]``, mode 0600). A later change to the
file makes it untrusted again. The file is read only as a regular file, never through a
symbolic link, without blocking (a FIFO) and at most :data:`PROJECT_FILE_MAX_BYTES`
(a link to ``/dev/zero`` or a 4 GB file ends at once with one line).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from autoagent_core.errors import ConfigError

TRUST_TABLE = "mcp_trusted_projects"
PROJECT_FILE_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class ProjectFile:
    """A project's ``.mcp.json`` as read: its absolute path, bytes and hash."""

    path: Path
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def absolute(path: Path) -> Path:
    """The file's absolute path with its folder resolved (the file itself is not: a link
    in its place is refused, not followed)."""
    path = path.expanduser()
    return Path(os.path.abspath(path)).parent.resolve() / path.name


def read_project_file(path: Path) -> ProjectFile | None:
    """The file's bytes, or None when there is none. Anything but a regular file of at
    most :data:`PROJECT_FILE_MAX_BYTES` is a :class:`ConfigError` with one line."""
    path = absolute(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"{path} is a symbolic link; autoagent reads it only as a "
                              "regular file") from None
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path} is not a regular file; autoagent reads it only as a "
                              "regular file")
        if info.st_size > PROJECT_FILE_MAX_BYTES:
            raise ConfigError(f"{path} is larger than {PROJECT_FILE_MAX_BYTES:,} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= PROJECT_FILE_MAX_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > PROJECT_FILE_MAX_BYTES:
            raise ConfigError(f"{path} is larger than {PROJECT_FILE_MAX_BYTES:,} bytes")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return ProjectFile(path, b"".join(chunks))


def trusted_hashes() -> dict[str, str]:
    """Path -> SHA-256 of every project file the user trusted."""
    from autoagent_core.config import config_path, read_config_file

    table = read_config_file().get(TRUST_TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"'{TRUST_TABLE}' in {config_path()} must be a table")
    return {str(k): str(v) for k, v in table.items()}


def trust_state(project: ProjectFile) -> str:
    """``trusted``, ``changed`` (trusted once, different bytes now) or ``untrusted``."""
    recorded = trusted_hashes().get(str(project.path))
    if recorded is None:
        return "untrusted"
    return "trusted" if recorded == project.sha256 else "changed"


def untrusted_message(project: ProjectFile, state: str) -> str:
    """The one line that says a project file starts nothing, and how to trust it."""
    why = ("changed since you trusted it" if state == "changed" else "is not trusted")
    return (f"{project.path} {why}: its MCP servers are not started (read it, then run "
            f"'autoagent mcp trust {project.path}')")


def record_trust(project: ProjectFile) -> Path:
    """Write the file's path and hash into the user config (atomically, mode 0600)."""
    import tomli_w

    from autoagent_core.atomic import atomic_write_bytes
    from autoagent_core.config import config_path, read_config_file

    path = config_path()
    data = read_config_file(path)
    table = dict(data.get(TRUST_TABLE, {}) or {})
    table[str(project.path)] = project.sha256
    data[TRUST_TABLE] = table
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, tomli_w.dumps(data).encode(), mode=0o600)
    return path
