"""One task of a batch, run in the current process: what every executor calls.

A :class:`TaskJob` is plain data (it crosses process and machine boundaries); the result is
a plain dict with the RESULTS fields (:mod:`autoagent_core.batch.results`). Errors never
escape: a task that cannot start is a ``failed`` result with the one-line error.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

INTERRUPTED = "interrupted"


@dataclass
class TaskJob:
    """What a worker needs to run one task. ``overrides`` are settings (the ``run``
    options and the task's own keys); ``env`` the variables passed with --env-from-host."""

    id: str
    task: str
    overrides: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def result_row(job_id: str, status: str, error: str | None = None,
               session_id: str | None = None, duration_s: float = 0.0) -> dict[str, Any]:
    """A result for a task that produced no outcome (it could not start or was stopped)."""
    return {"id": job_id, "session_id": session_id, "status": status, "answer": None,
            "turns": 0, "usage": {"prompt_tokens": 0, "completion_tokens": 0,
                                  "total_tokens": 0},
            "duration_s": round(duration_s, 3), "tools_created": [], "tools_used": [],
            "error": error}


def run_job(job: TaskJob) -> dict[str, Any]:
    """Run ``job`` to its end and return its result row (redacted)."""
    from autoagent_core.config import load_settings
    from autoagent_core.errors import AutoagentError
    from autoagent_core.loop.session import RunRequest, execute_run
    from autoagent_core.redact import redactor_for, remember_secret

    os.environ.update(job.env)
    for value in job.env.values():
        remember_secret(value)
    start = time.monotonic()
    try:
        settings = load_settings(job.overrides)
        redactor = redactor_for(settings)
        outcome = execute_run(settings, RunRequest(job.task, job.session_id, False))
    except AutoagentError as exc:
        return redactor_for()(result_row(job.id, "failed", str(exc), job.session_id,
                                         time.monotonic() - start))
    except KeyboardInterrupt:
        return result_row(job.id, INTERRUPTED, "interrupted before the run started",
                          job.session_id, time.monotonic() - start)
    from autoagent_core.errors import InterruptedRunError

    summary = outcome.to_json()
    status = summary["status"]
    if status != "completed":  # a backend error also keeps the session interrupted:
        # only Ctrl-C (or SIGTERM) makes the task interrupted, to be run again next time
        status = INTERRUPTED if isinstance(outcome.error, InterruptedRunError) else "failed"
    row = {key: summary.get(key) for key in ("session_id", "answer", "turns", "usage",
                                             "tools_created", "tools_used", "error")}
    row.update(id=job.id, status=status, duration_s=summary["duration_s"])
    data: dict[str, Any] = redactor(row)
    return data
