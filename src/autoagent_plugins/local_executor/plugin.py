"""Plugin: the ``local`` batch executor (``autoagent batch -j N``).

The implementation lives in :mod:`autoagent_plugins.local_executor.pool`, imported only
when a batch runs.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def open_executor(options: Any) -> Any:
    from autoagent_plugins.local_executor.pool import ProcessPool

    return ProcessPool(options)


@hookimpl
def autoagent_executors() -> list[Provider]:
    return [Provider("local", open_executor, "-j N worker processes on this machine")]
