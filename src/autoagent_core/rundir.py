"""Run directories: ``<log_dir>/YYYY-MM-DD_HH-MM-SS/`` holds one run's timeline files.

The folder is named after the local start time, so ``ls .runs`` lists runs in the order
they started. It is created with :func:`os.mkdir`, which fails when the folder exists, so
two runs that start in the same second never share a folder: the second one gets the
suffix ``-2``, the third ``-3`` and so on.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from autoagent_core.errors import StorageError

RUN_DIR_FORMAT = "%Y-%m-%d_%H-%M-%S"
RUN_DIR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})(?:-(\d+))?$")
MAX_SAME_SECOND = 10_000


def new_run_dir(log_dir: Path, now: float | None = None) -> Path:
    """Create and return a new, empty run folder inside ``log_dir`` (created if missing)."""
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the run folder {log_dir}: "
                           f"{exc.strerror or exc}") from None
    stamp = time.strftime(RUN_DIR_FORMAT, time.localtime(time.time() if now is None else now))
    for n in range(1, MAX_SAME_SECOND + 1):
        path = log_dir / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        except OSError as exc:
            raise StorageError(f"cannot create the run folder {path}: "
                               f"{exc.strerror or exc}") from None
        return path
    raise StorageError(f"cannot create a run folder in {log_dir}: "
                       f"{MAX_SAME_SECOND} runs started at {stamp}")


def run_dir_sort_key(name: str) -> tuple[str, int, str]:
    """Orders run folders by start time, then by suffix (``-10`` after ``-9``); other
    names sort last, by name."""
    match = RUN_DIR_RE.match(name)
    if match is None:
        return ("~", 0, name)
    return (match.group(1), int(match.group(2) or 1), name)
