"""``autoagent batch``: read TASKS, skip the ids RESULTS already holds, hand the rest to an
executor, merge what remote tasks learned, append each result as it arrives.

Exit status (:class:`BatchOutcome.exit_code`): 0 when every task of TASKS is completed,
1 when some failed (their lines say why; ``--retry-failed`` runs them again), 130 after
Ctrl-C (the tasks in flight are written as ``interrupted`` and run again next time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoagent_core.batch.one_task import TaskJob
from autoagent_core.batch.results import ResultsFile, last_statuses
from autoagent_core.batch.tasks import read_tasks
from autoagent_core.errors import AutoagentError, PluginError, UsageError


@dataclass
class BatchRequest:
    """The command line of ``autoagent batch``."""

    tasks_path: Path
    results_path: Path
    executor: str = "local"
    jobs: int = 1
    scheduler: str | None = None
    retry_failed: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    env_from_host: list[str] = field(default_factory=list)
    terminal: bool = False


@dataclass
class BatchOutcome:
    """Counts of one batch (what ``--json`` prints)."""

    total: int
    skipped: int
    counts: dict[str, int]
    tokens: int
    duration_s: float
    results_path: Path
    interrupted: bool
    failed_before: int = 0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.counts.get("failed", 0) or self.failed_before else 0

    def to_json(self) -> dict[str, Any]:
        ran = sum(self.counts.values())
        return {"tasks": self.total, "skipped": self.skipped, "ran": ran, **self.counts,
                "failed_before": self.failed_before, "tokens": self.tokens,
                "duration_s": round(self.duration_s, 3),
                "tasks_per_s": round(ran / self.duration_s, 3) if self.duration_s else None,
                "results": str(self.results_path), "exit_code": self.exit_code}


def host_env(names: list[str]) -> dict[str, str]:
    """The variables named with --env-from-host, which must be set here."""
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise UsageError(f"--env-from-host {missing[0]}: the variable is not set here")
    return {n: os.environ[n] for n in names}


def plan_jobs(request: BatchRequest) -> tuple[list[TaskJob], int, int]:
    """The jobs to run, how many ids are skipped, and how many of those failed before.
    Settings of every job are checked first, so a bad option stops the batch before work."""
    from autoagent_core.config import load_settings
    from autoagent_core.layers import resolve_backend_name
    from autoagent_core.secrets.task import protect_task

    tasks = read_tasks(request.tasks_path)
    statuses = last_statuses(request.results_path)
    jobs: list[TaskJob] = []
    skipped = failed_before = 0
    checked: set[tuple[Any, ...]] = set()
    for item in tasks:
        status = statuses.get(item.id)
        if status == "completed" or (status == "failed" and not request.retry_failed):
            skipped += 1
            failed_before += status == "failed"
            continue
        overrides = {**request.overrides, **item.overrides}
        key = tuple(sorted(overrides.items()))
        if key not in checked:
            checked.add(key)
            resolve_backend_name(load_settings(overrides))
        # keys pasted into a task are stored before any worker, result or session sees them
        task = protect_task(item.task, None, f"task {item.id}") or ""
        jobs.append(TaskJob(item.id, task, overrides, item.session_id))
    return jobs, skipped, failed_before


def run_batch(request: BatchRequest) -> BatchOutcome:
    from autoagent_core.batch.executors import ExecutorOptions, open_executor
    from autoagent_core.batch.library import LEARNED_KEY, absorb
    from autoagent_core.batch.progress import BatchProgress
    from autoagent_core.config import load_settings
    from autoagent_core.redact import redactor_for

    env = host_env(request.env_from_host)
    jobs, skipped, failed_before = plan_jobs(request)
    settings = load_settings(request.overrides)
    redactor = redactor_for(settings, extra=env.values())
    executor = open_executor(request.executor, ExecutorOptions(
        request.jobs, settings, request.scheduler, env))
    counts = {"completed": 0, "failed": 0, "interrupted": 0}
    interrupted = False
    progress = BatchProgress(len(jobs), skipped, request.terminal)

    def on_result(row: dict[str, Any]) -> None:
        problems = absorb(settings, row) if LEARNED_KEY in row else []
        if problems:
            row["error"] = "; ".join(filter(None, [row.get("error"), *problems]))
        row = redactor(row)
        out.append(row)
        status = str(row.get("status"))
        counts[status] = counts.get(status, 0) + 1
        progress.update(row)

    with ResultsFile(request.results_path) as out, progress:
        try:
            if jobs:
                executor.run(jobs, on_result)
        except KeyboardInterrupt:
            interrupted = True
        except AutoagentError:
            raise
        except Exception as exc:  # a third-party executor's bug: one line, results kept
            raise PluginError(f"the {request.executor} executor failed: "
                              f"{type(exc).__name__}: {exc}") from None
        finally:
            executor.close()
    return BatchOutcome(len(jobs) + skipped, skipped, counts, progress.tokens,
                        progress.elapsed, request.results_path, interrupted, failed_before)
