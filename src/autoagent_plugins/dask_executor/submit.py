"""The submitting side of the ``dask`` executor: connect to the scheduler, ship the library
once per worker, submit one Dask task per batch task, report each result as it comes.

Secrets reach tasks only when named with ``--env-from-host``; their values travel inside
the task's arguments (memory and the network, never a file of ours) and are redacted from
everything the task returns. Script files are read here and sent as text, since workers
cannot see this machine's files.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autoagent_core.batch.executors import ExecutorOptions, OnResult
from autoagent_core.batch.one_task import INTERRUPTED, TaskJob, result_row
from autoagent_core.errors import ConfigError, UsageError

CONNECT_TIMEOUT_S = 20


class DaskExecutor:
    """The ``dask`` executor (see the module docstring)."""

    def __init__(self, options: ExecutorOptions) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("the dask executor needs the 'dask' extra: "
                              "pip install 'autoagent[dask]'") from None
        if not options.scheduler:
            raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT "
                             "(or DASK_SCHEDULER_ADDRESS)")
        self.options = options
        try:
            self.client = Client(options.scheduler, timeout=CONNECT_TIMEOUT_S,
                                 set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler {options.scheduler}: "
                              f"{exc}") from None
        self._futures: list[Any] = []

    def _payload(self, job: TaskJob) -> dict[str, Any]:
        overrides = dict(job.overrides)
        script_text = None
        if overrides.get("script"):
            path = Path(overrides.pop("script"))
            try:
                script_text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"task {job.id}: cannot read the script {path}: "
                                 f"{exc.strerror or exc}") from None
        for key in ("tools_dir", "agents_dir", "sessions_dir", "log_dir"):
            overrides.pop(key, None)  # the worker's own temp folders
        return {"id": job.id, "task": job.task, "overrides": overrides,
                "session_id": job.session_id, "script_text": script_text,
                "env": {**self.options.env, **job.env}}

    def run(self, jobs: Sequence[TaskJob], on_result: OnResult) -> None:
        from distributed import as_completed

        from autoagent_core.batch.library import pack_library
        from autoagent_plugins.dask_executor.remote import run_remote

        settings = self.options.settings
        payloads = [self._payload(job) for job in jobs]
        from autoagent_core.deps.environment import deps_root

        archive, sha = pack_library(settings.path("tools_dir"), settings.path("agents_dir"),
                                    deps_root(settings) / "locks")
        library = self.client.scatter(archive, broadcast=True, hash=False)
        batch = uuid.uuid4().hex[:8]
        by_key: dict[str, str] = {}
        for payload in payloads:
            future = self.client.submit(run_remote, payload, library, sha, pure=False,
                                        key=f"autoagent-{batch}-{payload['id']}")
            by_key[str(future.key)] = payload["id"]
            self._futures.append(future)
        pending = set(by_key)
        try:
            for future in as_completed(self._futures, loop=self.client.loop):
                pending.discard(str(future.key))
                try:
                    row = future.result()
                except Exception as exc:  # the worker died or the function raised
                    row = result_row(by_key[str(future.key)], "failed",
                                     f"the Dask task failed: {type(exc).__name__}: {exc}")
                row.pop("worker_dir", None)
                on_result(row)
        except KeyboardInterrupt:
            self.client.cancel(self._futures)
            for key in sorted(pending):
                on_result(result_row(by_key[key], INTERRUPTED, "stopped by Ctrl-C"))
            raise

    def close(self) -> None:
        self.client.close()
