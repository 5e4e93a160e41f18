"""Plugin: the ``scripted`` backend, which replays a script file (``--script FILE``) so runs
are reproducible without a model.

The implementation lives in :mod:`autoagent_plugins.scripted.backend`, imported only when a
backend is built.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def build_backend(settings: Any) -> Any:
    from autoagent_plugins.scripted.backend import ScriptedBackend

    return ScriptedBackend.from_settings(settings)


@hookimpl
def autoagent_llm_backends() -> list[Provider]:
    return [Provider("scripted", build_backend,
                     "Replays the replies of a script file (--script FILE)")]
