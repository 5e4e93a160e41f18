"""Plugin: the ``filesystem`` session store (``.sessions/``, the original's layout).

The implementation lives in :mod:`autoagent_plugins.fs_sessions.store`, imported only when a
store is opened, so starting the CLI costs nothing.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def open_store(settings: Any) -> Any:
    from autoagent_plugins.fs_sessions.store import open_store

    return open_store(settings)


@hookimpl
def autoagent_session_stores() -> list[Provider]:
    return [Provider("filesystem", open_store,
                     "One JSON file per session in sessions_dir (default .sessions/)")]
