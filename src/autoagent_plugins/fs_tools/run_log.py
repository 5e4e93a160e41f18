"""The run history of a tool: ``.versions/<name>/runs.jsonl``, one JSON line per call (when,
who, version, result, duration), redacted like the manifest, the newest RUN_LOG_MAX_LINES kept."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoagent_core import atomic

RUN_LOG_NAME = "runs.jsonl"
RUN_LOG_MAX_LINES = 1000


def append(path: Path, record: dict[str, Any], warn: Callable[[str, str], None]) -> None:
    """Append one call; a failure to write costs one warning, never the call's result."""
    from autoagent_core.redact import redactor_for

    # the error text may quote a secret, as in the manifest
    line = json.dumps(redactor_for()(record), ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(atomic.open_owned_nofollow(path), "a", encoding="utf-8") as fh:
            fh.write(line)
        if path.stat().st_size > RUN_LOG_MAX_LINES * 400:  # cheap bound, checked rarely
            kept = path.read_text(encoding="utf-8").splitlines(keepends=True)
            atomic.atomic_write_bytes(path, "".join(kept[-RUN_LOG_MAX_LINES:]).encode(),
                                      fsync=False)
    except atomic.StorageError as exc:  # a link or another user's file in its place
        warn(f"runlog:{path.parent.name}", str(exc))
    except OSError as exc:
        warn(f"runlog:{path.parent.name}", f"cannot append to {path}: {exc.strerror or exc}")


def read(path: Path) -> list[dict[str, Any]]:
    """The recorded calls, oldest first; unreadable lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out
