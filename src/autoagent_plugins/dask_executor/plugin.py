"""Plugin: the ``dask`` batch executor (``autoagent batch --executor dask --scheduler ...``).

``distributed`` (the optional ``dask`` extra) is imported only when a batch uses it.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def open_executor(options: Any) -> Any:
    from autoagent_plugins.dask_executor.submit import DaskExecutor

    return DaskExecutor(options)


@hookimpl
def autoagent_executors() -> list[Provider]:
    return [Provider("dask", open_executor,
                     "Each task on a worker of a Dask cluster (pip install autoagent[dask])")]
