"""The executor layer: how the tasks of a batch are spread over processes or machines.

An executor receives every job at once and calls ``on_result`` (in the calling thread) with
each finished task's result row (:func:`autoagent_core.batch.one_task.run_job` makes them).
On Ctrl-C it stops the tasks in flight, reports each of them with status ``interrupted``
and lets the ``KeyboardInterrupt`` propagate. A remote executor puts what a task learned
under ``row["learned"]`` (:func:`autoagent_core.batch.library.learned`); the batch merges
it into this machine's stores before the row is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from autoagent_core.batch.one_task import TaskJob
    from autoagent_core.config import Settings

OnResult = Callable[[dict[str, Any]], None]


@dataclass
class ExecutorOptions:
    """What ``autoagent batch`` tells an executor: ``jobs`` (-j), ``scheduler``
    (--scheduler), the batch's settings, and the host environment passed on."""

    jobs: int
    settings: Settings
    scheduler: str | None = None
    env: dict[str, str] = field(default_factory=dict)


class Executor(Protocol):
    """Runs jobs and reports their results (see the module docstring)."""

    def run(self, jobs: Sequence[TaskJob], on_result: OnResult) -> None:
        ...

    def close(self) -> None:
        ...


def open_executor(name: str, options: ExecutorOptions) -> Executor:
    from autoagent_core.plugins import get_plugin_manager

    executor: Executor = get_plugin_manager().select("executor", name).factory(options)
    return executor
