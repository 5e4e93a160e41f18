"""The versions resolved for each tool version: ``<tools_dir>.deps/locks/<tool>/v<N>.json``.

Kept beside the tool environment, apart from the tool manifest, so the manifest keeps the
original's shape. A lock is written once, when the tool version's dependencies are first
installed, and read before every later call: when the environment holds those versions, the
call starts without running uv at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.deps.environment import deps_root, python_tag

if TYPE_CHECKING:
    from autoagent_core.config import Settings

LOCK_SCHEMA_VERSION = 1


def lock_path(settings: Settings, name: str, version: int) -> Path:
    # ``name`` comes from the tool store, which validated it as an identifier
    return deps_root(settings) / "locks" / name / f"v{int(version)}.json"


def read_lock(settings: Settings, name: str, version: int) -> dict[str, Any] | None:
    """The lock of that tool version, or None (missing, or not a lock: it is rewritten)."""
    from autoagent_core.atomic import read_json
    from autoagent_core.errors import StorageError

    path = lock_path(settings, name, version)
    if not path.is_file():
        return None
    try:
        data = read_json(path)
    except (StorageError, OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("resolved"), dict):
        return None
    return data


def write_lock(settings: Settings, name: str, version: int, declared: list[str],
               resolved: dict[str, str], sha256: str = "") -> dict[str, Any]:
    from datetime import UTC, datetime

    from autoagent_core.atomic import atomic_write_json

    data = {"schema_version": LOCK_SCHEMA_VERSION, "tool": name, "version": int(version),
            "sha256": sha256, "declared": list(declared),
            "resolved": dict(sorted(resolved.items())), "python": python_tag(),
            "locked_at": datetime.now(UTC).isoformat(timespec="seconds")}
    path = lock_path(settings, name, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, data)
    return data


def tool_locks(settings: Settings, name: str) -> dict[int, dict[str, Any]]:
    """Every lock of a tool, by version."""
    folder = deps_root(settings) / "locks" / name
    found: dict[int, dict[str, Any]] = {}
    for path in sorted(folder.glob("v*.json")) if folder.is_dir() else []:
        stem = path.stem[1:]
        if stem.isdigit():
            lock = read_lock(settings, name, int(stem))
            if lock is not None:
                found[int(stem)] = lock
    return found
