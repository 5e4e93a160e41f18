"""What runs on a Dask worker: one task against a fresh copy of the submitted library.

The worker shares no folder with the submitting machine. The library archive arrives once
per worker (scattered with ``broadcast=True``) and is unpacked once per archive hash into
the worker's temp folder; each task copies it into its own temp folder, where its stores
(tools, agents, sessions, timelines, and the tool environment, installed with uv from the
shipped locks as tools need it) live, and returns its result with what it learned
(:func:`autoagent_core.batch.library.learned`). The temp folder is removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

_unpack_lock = threading.Lock()


def _library_copy(archive: bytes, sha: str, work: Path) -> None:
    from autoagent_core.batch.library import unpack_library

    cache = Path(tempfile.gettempdir()) / f"autoagent-library-{sha[:20]}"
    with _unpack_lock:
        if not cache.is_dir():
            staging = Path(tempfile.mkdtemp(prefix="autoagent-library-", suffix=".part"))
            unpack_library(archive, staging)
            try:
                os.rename(staging, cache)
            except OSError:  # another worker process of this machine was first
                shutil.rmtree(staging, ignore_errors=True)
    for part in ("tools", "agents"):
        if (cache / part).is_dir():
            shutil.copytree(cache / part, work / part)
    if (cache / "locks").is_dir():  # the tool environment is installed from these
        shutil.copytree(cache / "locks", work / "tools.deps" / "locks")


def run_remote(job: dict[str, Any], archive: bytes, sha: str) -> dict[str, Any]:
    """Run one task on this worker; the result row carries ``learned``."""
    from autoagent_core.batch.library import LEARNED_KEY, learned, tool_shas
    from autoagent_core.batch.one_task import TaskJob, run_job
    from autoagent_core.config import load_settings
    from autoagent_core.layers import open_agent_registry, open_tool_store

    work = Path(tempfile.mkdtemp(prefix="autoagent-task-"))
    try:
        _library_copy(archive, sha, work)
        overrides = dict(job["overrides"])
        overrides.update(tools_dir=str(work / "tools"), agents_dir=str(work / "agents"),
                         sessions_dir=str(work / "sessions"), log_dir=str(work / "runs"))
        script_text = job.get("script_text")
        if script_text is not None:
            (work / "script.json").write_text(script_text, encoding="utf-8")
            overrides["script"] = str(work / "script.json")
        settings = load_settings(overrides)
        before = tool_shas(open_tool_store(settings))
        agents_before = {a.name for a in open_agent_registry(settings).list_agents()}
        row = run_job(TaskJob(job["id"], job["task"], overrides, job.get("session_id"),
                              job.get("env") or {}))
        row[LEARNED_KEY] = learned(settings, row.get("session_id"), before, agents_before)
        row["worker_dir"] = str(work)
        return row
    finally:
        shutil.rmtree(work, ignore_errors=True)
