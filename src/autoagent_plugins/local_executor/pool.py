"""``-j N`` worker processes on this machine, sharing its stores (which lock).

Workers are forked once at the start and take jobs from a queue, so a task costs no
interpreter start. Each worker ignores SIGINT (Ctrl-C reaches the whole process group):
the batch decides, and stops the tasks in flight with SIGTERM, which a worker turns into
the Ctrl-C of its run, so the session is saved as ``interrupted``. A worker gets SIGTERM
when the batch dies too (``prctl(PR_SET_PDEATHSIG)``), even by ``kill -9``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from autoagent_core.batch.executors import ExecutorOptions, OnResult
from autoagent_core.batch.one_task import INTERRUPTED, TaskJob, result_row

STOP_GRACE_S = 15.0
POLL_S = 0.2
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


_stopping = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _stopping
    if not _stopping:
        _stopping = True
        raise KeyboardInterrupt


def _worker_main(jobs: Any, results: Any, parent: int) -> None:
    from autoagent_core.batch.one_task import run_job

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent()
    if os.getppid() != parent:  # the batch died before prctl took effect
        return
    try:
        while not _stopping:
            job = jobs.get()
            if job is None:
                break
            results.put(("started", job.id, os.getpid()))
            results.put(("done", run_job(job), os.getpid()))
    except KeyboardInterrupt:
        pass


class ProcessPool:
    """The ``local`` executor (see the module docstring)."""

    def __init__(self, options: ExecutorOptions) -> None:
        self.size = max(1, options.jobs)
        self.env = options.env
        self._procs: list[Any] = []

    def run(self, jobs: Sequence[TaskJob], on_result: OnResult) -> None:
        ctx = multiprocessing.get_context("fork")
        job_q: Any = ctx.Queue()
        result_q: Any = ctx.Queue()
        for job in jobs:
            job.env = {**self.env, **job.env}
            job_q.put(job)
        for _ in range(self.size):
            job_q.put(None)
        self._procs = [ctx.Process(target=_worker_main, args=(job_q, result_q, os.getpid()),
                                   daemon=False) for _ in range(min(self.size, len(jobs)))]
        for proc in self._procs:
            proc.start()
        in_flight: dict[int, str] = {}  # worker pid -> job id
        left = len(jobs)
        try:
            while left:
                try:
                    kind, value, pid = result_q.get(timeout=POLL_S)
                except queue.Empty:
                    left -= self._report_dead(in_flight, on_result)
                    continue
                if kind == "started":
                    in_flight[pid] = value
                else:
                    in_flight.pop(pid, None)
                    left -= 1
                    on_result(value)
        except KeyboardInterrupt:
            self._stop(in_flight, result_q, on_result)
            raise

    def _report_dead(self, in_flight: dict[int, str], on_result: OnResult) -> int:
        """A worker that died with a job (killed, out of memory): that task failed."""
        gone = 0
        for proc in self._procs:
            if proc.exitcode is not None and proc.pid in in_flight:
                job_id = in_flight.pop(proc.pid)
                on_result(result_row(job_id, "failed", f"the worker process ended "
                                     f"(exit code {proc.exitcode}) during the task"))
                gone += 1
        if all(p.exitcode is not None for p in self._procs) and not in_flight and not gone:
            raise RuntimeError("every worker process ended before the batch did")
        return gone

    def _stop(self, in_flight: dict[int, str], result_q: Any, on_result: OnResult) -> None:
        """Stop the tasks in flight; each is reported ``interrupted``."""
        for proc in self._procs:
            if proc.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a 2nd Ctrl-C loses nothing
        try:
            while in_flight:
                try:
                    kind, value, pid = result_q.get(timeout=STOP_GRACE_S)
                except queue.Empty:
                    break
                if kind == "started":
                    in_flight[pid] = value
                elif kind == "done" and pid in in_flight:
                    del in_flight[pid]
                    value["status"] = INTERRUPTED if value["status"] != "completed" \
                        else value["status"]
                    on_result(value)
            for job_id in in_flight.values():
                on_result(result_row(job_id, INTERRUPTED, "stopped by Ctrl-C"))
        finally:
            signal.signal(signal.SIGINT, previous)

    def close(self) -> None:
        for proc in self._procs:
            proc.join(timeout=STOP_GRACE_S)
            if proc.exitcode is None:
                proc.kill()
                proc.join()
